#pragma once
// DKIM key files for the CLI (`sealpost dkim init`) and for the server's start-up: the only
// file I/O of this module. Every function here blocks (key generation, disk).
// Trust: the directory is the operator's DIR/secrets/; what is read from it is still checked.
//
// Files: DIR/dkim-<selector>.<ed25519|rsa>.pem, PKCS#8 PEM, mode 0600, created with O_EXCL
// (never overwritten). With `--algorithm ed25519` (the default the CLI offers) init writes
// dkim-S.ed25519.pem and dkim-S-rsa.rsa.pem; with `--algorithm rsa` only dkim-S.rsa.pem.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "mail/dkim/key.hpp"
#include "mail/dkim/signer.hpp"

namespace mail::dkim {

struct GeneratedKey {
  std::filesystem::path path;
  std::string selector;
  Algorithm algorithm;
  std::string record;  // the TXT text to publish at record_name(selector, domain)
};

std::filesystem::path key_file_path(const std::filesystem::path& dir, std::string_view selector,
                                    Algorithm algorithm);

// One new key in `dir` (created 0700 if missing). Refuses when the file exists.
core::Result<GeneratedKey> generate_key_blocking(const std::filesystem::path& dir,
                                                 std::string_view selector, Algorithm algorithm);

// What `dkim init` does: Ed25519 -> the Ed25519 key under `selector` and its RSA companion
// under companion_rsa_selector(selector); RSA -> one RSA key. Refuses before writing anything
// when any of the files exists.
core::Result<std::vector<GeneratedKey>> init_keys_blocking(const std::filesystem::path& dir,
                                                           std::string_view selector,
                                                           Algorithm algorithm);

// The signer for what init_keys_blocking wrote: dkim-S.ed25519.pem with dkim-S-rsa.rsa.pem,
// or dkim-S.rsa.pem alone. A key file that is not a regular file, is readable by group or
// others, or is larger than kMaxKeyFileBytes is refused.
core::Result<Signer> load_signer_blocking(const std::filesystem::path& dir, std::string_view domain,
                                          std::string_view selector);

}  // namespace mail::dkim
