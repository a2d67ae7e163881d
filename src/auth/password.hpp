#pragma once
// Staff passwords: Argon2id hashing (libsodium) and the choice policy.
// Trust: `password` arguments are untrusted user input; `stored_hash` comes from our store.
//
// hash_password and verify_password are deliberately slow (Argon2id, 64 MiB, 2 passes:
// ~0.1 s of CPU) and block while another two are running, so they belong on the blocking
// pool, never on an event-loop thread. At most two run at once in the whole process, so a
// burst of sign-ins costs at most 128 MiB and two cores, however many requests wait.
//
// Passwords and hashes are never logged; callers wipe their copies of the password.

#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "core/rng.hpp"

namespace auth {

// Limits of the policy. Bytes, not characters, bound the maximum: it bounds work and storage
// (and 256 bytes is at least 64 characters of any script).
inline constexpr std::size_t kMinPasswordCodePoints = 12;
inline constexpr std::size_t kMaxPasswordBytes = 256;
// How many hashes or verifications may run at once, process-wide (each takes 64 MiB).
inline constexpr std::ptrdiff_t kMaxConcurrentHashes = 2;

// An Argon2id hash in libsodium's string form ("$argon2id$v=19$m=65536,t=2,p=1$..."), with a
// fresh random salt. Fails (internal) only when the 64 MiB cannot be allocated.
core::Result<std::string> hash_password(std::string_view password);

// True when `password` matches `stored_hash`. False for any malformed hash, one that is not
// Argon2id, or one whose parameters ask for more memory or passes than we would ever have
// written (so a tampered row cannot make a sign-in allocate gigabytes).
bool verify_password(std::string_view stored_hash, std::string_view password);

// A hash of a random password nobody knows, computed once per process. Verify against it
// when the account does not exist, so the answer takes as long as for an existing account.
// The first call draws the password from `rng`.
const std::string& dummy_hash(core::Rng& rng);

// Whether `password` may be chosen by the user with this e-mail address. Failures are
// invalid_input with a sentence for the user. Does not hash; cheap.
core::Status check_password_policy(std::string_view password, std::string_view email);

// The highest number of hashes/verifications seen running at once since the process
// started; for the test of the concurrency bound.
std::ptrdiff_t peak_concurrent_hashes_for_test();

}  // namespace auth
