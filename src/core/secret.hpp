#pragma once
// Secret bytes: never printed, wiped on destruction. Holds keys, HMAC secrets and
// plaintext submissions between validation and encryption.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace core {

// Overwrites memory in a way the optimiser may not remove.
void secure_wipe(void* data, std::size_t size) noexcept;

class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(std::size_t size) : bytes_(size) {}
  explicit SecretBytes(std::string_view text) : bytes_(text.begin(), text.end()) {}
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  SecretBytes(SecretBytes&& other) noexcept : bytes_(std::move(other.bytes_)) {}
  SecretBytes& operator=(SecretBytes&& other) noexcept {
    if (this != &other) {
      wipe();
      bytes_ = std::move(other.bytes_);
    }
    return *this;
  }
  ~SecretBytes() { wipe(); }

  void wipe() noexcept {
    if (!bytes_.empty()) secure_wipe(bytes_.data(), bytes_.size());
    bytes_.clear();
  }
  // Appending may reallocate; wipe the old buffer first so no copy is left behind.
  void append(std::string_view more);

  std::span<const std::uint8_t> view() const noexcept { return bytes_; }
  std::span<std::uint8_t> mutable_view() noexcept { return bytes_; }
  std::string_view as_string_view() const noexcept {
    return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()};
  }
  std::size_t size() const noexcept { return bytes_.size(); }
  bool empty() const noexcept { return bytes_.empty(); }

 private:
  std::vector<std::uint8_t> bytes_;
};

}  // namespace core
