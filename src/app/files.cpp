#include "app/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/encoding.hpp"
#include "core/rng.hpp"
#include "crypto/seal.hpp"

namespace app {

using core::ErrorKind;

namespace {

core::Result<std::string> read_bounded(const std::filesystem::path& path, std::size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return core::fail(ErrorKind::invalid_input,
                      "cannot read " + path.string() + ": " + std::strerror(errno));
  }
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return core::fail(ErrorKind::invalid_input,
                        "cannot read " + path.string() + ": " + std::strerror(errno));
    }
    if (n == 0) break;
    if (out.size() + static_cast<std::size_t>(n) > max_bytes) {
      ::close(fd);
      core::secure_wipe(out.data(), out.size());
      return core::fail(ErrorKind::too_large,
                        path.string() + " is larger than " + std::to_string(max_bytes) + " bytes");
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  core::secure_wipe(buf, sizeof buf);
  ::close(fd);
  return out;
}

}  // namespace

core::Result<std::string> read_file(const std::filesystem::path& path, std::size_t max_bytes) {
  return read_bounded(path, max_bytes);
}

core::Result<core::SecretBytes> read_secret_file(const std::filesystem::path& path,
                                                 std::size_t max_bytes) {
  auto text = read_bounded(path, max_bytes);
  if (!text) return core::fail(text.error());
  core::SecretBytes secret(*text);
  core::secure_wipe(text->data(), text->size());
  return secret;
}

core::Status write_file(const std::filesystem::path& path, std::string_view bytes, mode_t mode,
                        bool exclusive, core::Rng& rng) {
  std::error_code ec;
  if (exclusive && std::filesystem::exists(path, ec)) {
    return core::fail(ErrorKind::conflict, path.string() + " already exists");
  }
  // A fresh temporary name, created exclusively and never through a symlink: the directory
  // may be writable by others (a file-drop pickup account).
  std::uint8_t salt[6];
  rng.fill(salt);
  auto tmp = path;
  tmp += "." + core::to_hex(salt) + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) {
    return core::fail(ErrorKind::unavailable,
                      "cannot write " + path.string() + ": " + std::strerror(errno));
  }
  ::fchmod(fd, mode);  // O_CREAT's mode is filtered by the umask; be explicit
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return core::fail(ErrorKind::unavailable,
                        "cannot write " + path.string() + ": " + std::strerror(err));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return core::fail(ErrorKind::unavailable, "cannot write " + path.string());
  }
  // Exclusive: link() fails if the name exists, so a file is never replaced. Otherwise
  // rename() replaces atomically.
  int moved = exclusive ? ::link(tmp.c_str(), path.c_str()) : ::rename(tmp.c_str(), path.c_str());
  if (exclusive && moved == 0) ::unlink(tmp.c_str());
  if (moved != 0) {
    ::unlink(tmp.c_str());
    return core::fail(ErrorKind::unavailable,
                      "cannot write " + path.string() + ": " + std::strerror(errno));
  }
  int dfd = ::open(path.parent_path().empty() ? "." : path.parent_path().c_str(),
                   O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return core::ok();
}

core::Result<core::SecretBytes> load_or_create_seal_key(const std::filesystem::path& path,
                                                        core::Rng& rng) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    core::SecretBytes fresh(crypto::kSealKeyBytes);
    rng.fill(fresh.mutable_view());
    if (auto s = write_file(path, fresh.as_string_view(), 0600, true, rng); !s) {
      // Another process may have created it first: read theirs.
      if (!std::filesystem::exists(path, ec)) return core::fail(s.error());
    }
  }
  auto key = read_secret_file(path, 1024);
  if (!key) return core::fail(key.error());
  if (key->size() != crypto::kSealKeyBytes) {
    return core::fail(core::ErrorKind::invalid_input,
                      path.string() + " must hold exactly 32 bytes");
  }
  return key;
}

}  // namespace app
