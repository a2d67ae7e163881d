#pragma once
// Small, careful file helpers for app/: bounded reads, and writes that are atomic (temp
// file + fsync + rename + directory fsync) with an explicit mode.

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "core/rng.hpp"
#include "core/secret.hpp"

namespace app {

core::Result<std::string> read_file(const std::filesystem::path& path, std::size_t max_bytes);
core::Result<core::SecretBytes> read_secret_file(const std::filesystem::path& path,
                                                 std::size_t max_bytes);
// Fails if the file exists when `exclusive` is set. `rng` names the temporary file.
core::Status write_file(const std::filesystem::path& path, std::string_view bytes, mode_t mode,
                        bool exclusive, core::Rng& rng);

// Reads the portal's seal key (crypto/seal.hpp), creating it (32 random bytes from `rng`, mode
// 0600) if missing.
core::Result<core::SecretBytes> load_or_create_seal_key(const std::filesystem::path& path,
                                                        core::Rng& rng);

}  // namespace app
