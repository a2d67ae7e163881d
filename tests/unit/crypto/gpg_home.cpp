#include "gpg_home.hpp"

#include <stdlib.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>

namespace crypto_test {

namespace fs = std::filesystem;

namespace {

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

CommandResult run(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) result.out.append(buf, n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace

bool gpg_available() { return std::system("gpg --version >/dev/null 2>&1") == 0; }

Bytes to_bytes(std::string_view text) { return Bytes(text.begin(), text.end()); }

std::string to_string(std::span<const std::uint8_t> bytes) {
  return std::string(bytes.begin(), bytes.end());
}

GpgHome::GpgHome() {
  std::string templ = (fs::temp_directory_path() / "sealpost-gpg-XXXXXX").string();
  if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = templ;
}

GpgHome::~GpgHome() {
  run("GNUPGHOME=" + quote(dir_.string()) + " gpgconf --kill gpg-agent >/dev/null 2>&1");
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

CommandResult GpgHome::gpg(const std::string& args) const {
  return run("GNUPGHOME=" + quote(dir_.string()) + " gpg --batch --no-tty " + args + " 2>>" +
             quote((dir_ / "stderr.log").string()));
}

std::string GpgHome::generate(const std::string& uid, const std::string& algo,
                              const std::string& usage, const std::string& expire) const {
  auto gen = gpg("--pinentry-mode loopback --passphrase '' --quick-gen-key " + quote(uid) + " " +
                 algo + " " + usage + " " + expire);
  if (gen.exit_code != 0) throw std::runtime_error("gpg key generation failed: " + stderr_log());
  auto list = gpg("--with-colons --list-keys " + quote(uid));
  std::istringstream lines(list.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("fpr:", 0) == 0) {
      // fpr:::::::::<FPR>:
      const auto end = line.rfind(':', line.size() - 2);
      return line.substr(end + 1, line.size() - end - 2);
    }
  }
  throw std::runtime_error("no fingerprint for " + uid);
}

Bytes GpgHome::export_public(const std::string& fpr, bool armored) const {
  auto r =
      gpg(std::string(armored ? "--armor " : "") + "--export " + (fpr.empty() ? "" : quote(fpr)));
  return to_bytes(r.out);
}

Bytes GpgHome::export_secret(const std::string& fpr) const {
  auto r =
      gpg("--pinentry-mode loopback --passphrase '' --armor --export-secret-keys " + quote(fpr));
  return to_bytes(r.out);
}

void GpgHome::import(std::span<const std::uint8_t> bytes) const {
  const auto path = write("import.in", bytes);
  auto r = gpg("--import " + quote(path.string()));
  if (r.exit_code != 0) throw std::runtime_error("gpg --import failed: " + stderr_log());
}

void GpgHome::revoke(const std::string& fpr) const {
  std::ifstream in(dir_ / "openpgp-revocs.d" / (fpr + ".rev"));
  std::string cert((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // gpg guards the certificate against accidental import with a leading ':'.
  const auto guard = cert.find(":-----BEGIN PGP PUBLIC KEY BLOCK-----");
  if (guard == std::string::npos) throw std::runtime_error("no revocation certificate");
  cert.erase(guard, 1);
  import(to_bytes(cert));
}

fs::path GpgHome::write(const std::string& name, std::span<const std::uint8_t> bytes) const {
  const fs::path path = dir_ / name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  return path;
}

Bytes GpgHome::read(const std::string& name) const {
  std::ifstream in(dir_ / name, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string GpgHome::stderr_log() const { return to_string(read("stderr.log")); }

}  // namespace crypto_test
