#pragma once
// A throwaway GnuPG home for tests: real gpg is the peer that must read what we write.
// Created in a mkdtemp directory, removed (and its gpg-agent stopped) on destruction.

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace crypto_test {

using Bytes = std::vector<std::uint8_t>;

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout; stderr goes to <home>/stderr.log
};

bool gpg_available();

Bytes to_bytes(std::string_view text);
std::string to_string(std::span<const std::uint8_t> bytes);

class GpgHome {
 public:
  GpgHome();
  ~GpgHome();
  GpgHome(const GpgHome&) = delete;
  GpgHome& operator=(const GpgHome&) = delete;

  const std::filesystem::path& dir() const { return dir_; }

  // Runs `gpg --batch <args>` in this home; `args` is inserted into a shell command as is.
  CommandResult gpg(const std::string& args) const;
  // Generates a key without passphrase and returns its fingerprint.
  std::string generate(const std::string& uid, const std::string& algo, const std::string& usage,
                       const std::string& expire) const;
  // Every key of the home when `fpr` is empty.
  Bytes export_public(const std::string& fpr, bool armored = true) const;
  Bytes export_secret(const std::string& fpr) const;
  // Imports key material or a revocation certificate.
  void import(std::span<const std::uint8_t> bytes) const;
  // Imports the revocation certificate gpg made when it generated `fpr`.
  void revoke(const std::string& fpr) const;

  // A file in this home holding `bytes`; returns its path.
  std::filesystem::path write(const std::string& name, std::span<const std::uint8_t> bytes) const;
  Bytes read(const std::string& name) const;
  std::string stderr_log() const;

 private:
  std::filesystem::path dir_;
};

}  // namespace crypto_test
