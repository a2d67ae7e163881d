// Trust: files under the operator's secrets directory; checked (type, mode, size, content).
#include "mail/dkim/key_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "mail/dkim/limits.hpp"
#include "mail/dkim/record.hpp"

namespace mail::dkim {
namespace {

using core::ErrorKind;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

core::Unexpected<core::Error> io_error(const std::string& public_text,
                                       const std::filesystem::path& path) {
  return core::fail(ErrorKind::unavailable, public_text,
                    path.string() + ": " + std::strerror(errno));
}

core::Status ensure_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return core::ok();
  if (!std::filesystem::create_directories(dir, ec) || ec)
    return core::fail(ErrorKind::unavailable, "the secrets directory could not be created",
                      dir.string() + ": " + ec.message());
  ::chmod(dir.c_str(), 0700);
  return core::ok();
}

// O_EXCL: an existing key (perhaps published in DNS already) is never replaced.
core::Status write_new_file(const std::filesystem::path& path, std::string_view bytes) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) {
    if (errno == EEXIST)
      return core::fail(ErrorKind::conflict, "a DKIM key with that selector exists already",
                        path.string());
    return io_error("the DKIM key file could not be written", path);
  }
  ::fchmod(fd.get(), 0600);  // whatever the umask
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      auto error = io_error("the DKIM key file could not be written", path);
      ::unlink(path.c_str());
      return error;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0 || ::close(fd.release()) != 0) {
    auto error = io_error("the DKIM key file could not be written", path);
    ::unlink(path.c_str());
    return error;
  }
  // The directory entry too, so a crash right after `dkim init` does not lose the key.
  Fd dir(::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() >= 0) ::fsync(dir.get());
  return core::ok();
}

core::Result<core::SecretBytes> read_key_file(const std::filesystem::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) return io_error("the DKIM key file could not be read", path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return io_error("the DKIM key file could not be read", path);
  if (!S_ISREG(st.st_mode))
    return core::fail(ErrorKind::invalid_input, "the DKIM key file is not a regular file",
                      path.string());
  if ((st.st_mode & 077) != 0)
    return core::fail(ErrorKind::invalid_input,
                      "the DKIM key file may be read by others: chmod 600 it", path.string());
  if (st.st_size <= 0 || static_cast<std::size_t>(st.st_size) > kMaxKeyFileBytes)
    return core::fail(ErrorKind::invalid_input, "the DKIM key file is not a PEM private key",
                      path.string() + ": empty or too large");
  core::SecretBytes bytes(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd.get(), bytes.mutable_view().data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error("the DKIM key file could not be read", path);
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  if (done != bytes.size())
    return core::fail(ErrorKind::unavailable, "the DKIM key file could not be read",
                      path.string() + ": changed while read");
  return bytes;
}

core::Result<PrivateKey> load_key(const std::filesystem::path& path, Algorithm expected) {
  auto pem = read_key_file(path);
  if (!pem) return core::fail(pem.error());
  auto key = PrivateKey::from_pem(*pem);
  if (!key) return core::fail(key.error().kind(), key.error().public_text(), path.string());
  if (key->algorithm() != expected)
    return core::fail(ErrorKind::invalid_input, "the DKIM key file holds another kind of key",
                      path.string());
  return key;
}

bool entry_exists(const std::filesystem::path& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace

std::filesystem::path key_file_path(const std::filesystem::path& dir, std::string_view selector,
                                    Algorithm algorithm) {
  return dir / ("dkim-" + std::string(selector) + "." + std::string(key_type(algorithm)) + ".pem");
}

core::Result<GeneratedKey> generate_key_blocking(const std::filesystem::path& dir,
                                                 std::string_view selector, Algorithm algorithm) {
  if (auto ok = check_selector(selector); !ok) return core::fail(ok.error());
  if (auto ok = ensure_dir(dir); !ok) return core::fail(ok.error());
  const auto path = key_file_path(dir, selector, algorithm);
  if (entry_exists(path))
    return core::fail(ErrorKind::conflict, "a DKIM key with that selector exists already",
                      path.string());
  auto key = PrivateKey::generate(algorithm);
  if (!key) return core::fail(key.error());
  auto pem = key->to_pem();
  if (!pem) return core::fail(pem.error());
  if (auto ok = write_new_file(path, pem->as_string_view()); !ok) return core::fail(ok.error());
  return GeneratedKey{path, std::string(selector), algorithm, dns_record(*key)};
}

core::Result<std::vector<GeneratedKey>> init_keys_blocking(const std::filesystem::path& dir,
                                                           std::string_view selector,
                                                           Algorithm algorithm) {
  if (auto ok = check_selector(selector); !ok) return core::fail(ok.error());
  std::vector<std::pair<std::string, Algorithm>> plan;
  plan.emplace_back(selector, algorithm);
  if (algorithm == Algorithm::ed25519_sha256)
    plan.emplace_back(companion_rsa_selector(selector), Algorithm::rsa_sha256);
  for (const auto& [sel, alg] : plan) {
    if (auto ok = check_selector(sel); !ok) return core::fail(ok.error());
    // Any key already there for this selector (either kind) means init ran before.
    for (const Algorithm a : {Algorithm::ed25519_sha256, Algorithm::rsa_sha256}) {
      if (entry_exists(key_file_path(dir, sel, a)))
        return core::fail(ErrorKind::conflict, "a DKIM key with that selector exists already",
                          key_file_path(dir, sel, a).string());
    }
  }
  std::vector<GeneratedKey> out;
  for (const auto& [sel, alg] : plan) {
    auto key = generate_key_blocking(dir, sel, alg);
    if (!key) return core::fail(key.error());
    out.push_back(std::move(*key));
  }
  return out;
}

core::Result<Signer> load_signer_blocking(const std::filesystem::path& dir, std::string_view domain,
                                          std::string_view selector) {
  if (auto ok = check_selector(selector); !ok) return core::fail(ok.error());
  const auto ed_path = key_file_path(dir, selector, Algorithm::ed25519_sha256);
  const auto rsa_path = key_file_path(dir, selector, Algorithm::rsa_sha256);
  const bool have_ed = entry_exists(ed_path);
  const bool have_rsa = entry_exists(rsa_path);
  if (have_ed && have_rsa)
    return core::fail(ErrorKind::invalid_input, "two DKIM keys for one selector: keep one of them",
                      ed_path.string());
  std::vector<SigningKey> keys;
  if (have_ed) {
    auto ed = load_key(ed_path, Algorithm::ed25519_sha256);
    if (!ed) return core::fail(ed.error());
    const std::string rsa_selector = companion_rsa_selector(selector);
    const auto companion = key_file_path(dir, rsa_selector, Algorithm::rsa_sha256);
    if (!entry_exists(companion))
      return core::fail(ErrorKind::not_found,
                        "the Ed25519 DKIM key has no RSA companion key (run dkim init again)",
                        companion.string());
    auto rsa = load_key(companion, Algorithm::rsa_sha256);
    if (!rsa) return core::fail(rsa.error());
    keys.push_back({std::string(selector), std::move(*ed)});
    keys.push_back({rsa_selector, std::move(*rsa)});
  } else if (have_rsa) {
    auto rsa = load_key(rsa_path, Algorithm::rsa_sha256);
    if (!rsa) return core::fail(rsa.error());
    keys.push_back({std::string(selector), std::move(*rsa)});
  } else {
    return core::fail(ErrorKind::not_found, "no DKIM key for that selector (run dkim init)",
                      ed_path.string());
  }
  return Signer::create(domain, std::move(keys));
}

}  // namespace mail::dkim
