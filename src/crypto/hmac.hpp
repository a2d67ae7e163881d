#pragma once
// HMAC-SHA-256, SHA-256 over a stream, and constant-time comparison, through OpenSSL.

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

namespace crypto {

using Mac = std::array<std::uint8_t, 32>;

Mac hmac_sha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> data);
// Compares in time independent of where the inputs differ.
bool constant_time_equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b);

// SHA-256 of bytes fed in pieces (a file read in blocks).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(std::string_view bytes);
  // The digest of everything fed; the object then starts afresh.
  Mac finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace crypto
