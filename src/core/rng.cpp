#include "core/rng.hpp"

#include <openssl/rand.h>

#include <cstdlib>

namespace core {

void SystemRng::fill(std::span<std::uint8_t> out) {
  if (out.empty()) return;
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) std::abort();
}

void FakeRng::fill(std::span<std::uint8_t> out) {
  for (auto& b : out) {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;  // PCG multiplier
    b = static_cast<std::uint8_t>(state_ >> 56);
  }
}

}  // namespace core
