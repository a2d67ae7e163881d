#pragma once
// Randomness is injected so tests can make it repeatable.

#include <cstdint>
#include <span>
#include <string>

namespace core {

// One Rng is shared by the threads of a process (event loop, blocking pool): an
// implementation used that way must be thread-safe (SystemRng is; FakeRng is for one thread).
class Rng {
 public:
  virtual ~Rng() = default;
  // Fills `out` with cryptographically strong random bytes (or aborts: a failing CSPRNG
  // is not a condition we can serve through).
  virtual void fill(std::span<std::uint8_t> out) = 0;
};

// OpenSSL's RAND_bytes.
class SystemRng final : public Rng {
 public:
  void fill(std::span<std::uint8_t> out) override;
};

// Deterministic bytes for tests; never cryptographically strong.
class FakeRng final : public Rng {
 public:
  explicit FakeRng(std::uint64_t seed = 42) : state_(seed) {}
  void fill(std::span<std::uint8_t> out) override;

 private:
  std::uint64_t state_;
};

}  // namespace core
