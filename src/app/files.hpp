#pragma once
// Small, careful file helpers for app/: bounded reads, and writes that are atomic (temp
// file + fsync + rename + directory fsync) with an explicit mode.

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "core/secret.hpp"

namespace app {

core::Result<std::string> read_file(const std::filesystem::path& path, std::size_t max_bytes);
core::Result<core::SecretBytes> read_secret_file(const std::filesystem::path& path,
                                                 std::size_t max_bytes);
// Fails if the file exists when `exclusive` is set.
core::Status write_file(const std::filesystem::path& path, std::string_view bytes, mode_t mode,
                        bool exclusive);

}  // namespace app
