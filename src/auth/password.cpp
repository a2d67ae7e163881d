#include "auth/password.hpp"

#include <sodium.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <semaphore>
#include <vector>

#include "auth/detail/common_passwords.hpp"
#include "core/encoding.hpp"
#include "core/rng.hpp"
#include "core/secret.hpp"

namespace auth {
namespace {

using core::ErrorKind;

// libsodium's "interactive" preset: 2 passes over 64 MiB, ~0.1 s. OWASP's minimum for Argon2id
// is 19 MiB and 2 passes; 64 MiB costs an attacker with GPUs more, and the concurrency bound
// below keeps the server's own cost at 128 MiB.
constexpr unsigned long long kOpsLimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
constexpr std::size_t kMemLimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
static_assert(kOpsLimit == 2 && kMemLimit == 64u * 1024 * 1024);

void ensure_sodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Fails only when the system has no usable randomness; nothing here can work then.
    if (sodium_init() < 0) std::abort();
  });
}

// At most kMaxConcurrentHashes Argon2id computations at once in the process.
std::counting_semaphore<kMaxConcurrentHashes> g_slots(kMaxConcurrentHashes);
std::atomic<std::ptrdiff_t> g_in_flight{0};
std::atomic<std::ptrdiff_t> g_peak{0};

class HashSlot {
 public:
  HashSlot() {
    g_slots.acquire();
    const std::ptrdiff_t now = ++g_in_flight;
    std::ptrdiff_t peak = g_peak.load();
    while (now > peak && !g_peak.compare_exchange_weak(peak, now)) {
    }
  }
  ~HashSlot() {
    --g_in_flight;
    g_slots.release();
  }
  HashSlot(const HashSlot&) = delete;
  HashSlot& operator=(const HashSlot&) = delete;
};

// Reads the decimal number that follows `prefix` at `pos`, advancing `pos` past it.
bool read_param(std::string_view text, std::size_t& pos, std::string_view prefix,
                std::uint64_t& value) {
  if (text.substr(pos, prefix.size()) != prefix) return false;
  pos += prefix.size();
  const char* begin = text.data() + pos;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || ptr == begin) return false;
  pos += static_cast<std::size_t>(ptr - begin);
  return true;
}

// Whether a stored hash is Argon2id with parameters no larger than the ones we write. The
// store is ours, but a corrupted or tampered row must not make a sign-in allocate gigabytes
// or spin for minutes. (Raising kOpsLimit or kMemLimit raises these bounds with them.)
bool acceptable_parameters(std::string_view hash) {
  std::size_t pos = 0;
  std::uint64_t version = 0;
  std::uint64_t mem_kib = 0;
  std::uint64_t passes = 0;
  std::uint64_t lanes = 0;
  if (!read_param(hash, pos, "$argon2id$v=", version)) return false;
  if (!read_param(hash, pos, "$m=", mem_kib)) return false;
  if (!read_param(hash, pos, ",t=", passes)) return false;
  if (!read_param(hash, pos, ",p=", lanes)) return false;
  return version == 19 && mem_kib <= kMemLimit / 1024 && passes >= 1 && passes <= kOpsLimit &&
         lanes == 1 && pos < hash.size() && hash[pos] == '$';
}

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), ascii_lower);
  return out;
}

bool is_ascii_digit_or_punct(char c) {
  return (c >= '0' && c <= '9') || c == ' ' || (c >= '!' && c <= '/') || (c >= ':' && c <= '@') ||
         (c >= '[' && c <= '`') || (c >= '{' && c <= '~');
}

// "password1234!" -> "password": people satisfy length rules by appending digits and a symbol.
std::string_view strip_trailing_digits_and_punctuation(std::string_view text) {
  while (!text.empty() && is_ascii_digit_or_punct(text.back())) text.remove_suffix(1);
  return text;
}

std::size_t count_code_points(std::string_view utf8) {
  // Valid UTF-8 (checked before): every byte that is not a continuation byte starts one.
  return static_cast<std::size_t>(std::count_if(utf8.begin(), utf8.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

// The embedded list, lower-case, sorted and unique, parsed once. The views point into the
// embedded text, which lives as long as the program.
const std::vector<std::string_view>& common_passwords() {
  static const std::vector<std::string_view> table = [] {
    std::vector<std::string_view> words;
    std::string_view text = detail::common_passwords_text();
    while (!text.empty()) {
      const std::size_t eol = text.find('\n');
      std::string_view line = text.substr(0, eol);
      text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.empty() || line.front() == '#') continue;
      words.push_back(line);
    }
    std::sort(words.begin(), words.end());
    words.erase(std::unique(words.begin(), words.end()), words.end());
    return words;
  }();
  return table;
}

bool is_common(std::string_view lowered) {
  const auto& table = common_passwords();
  return std::binary_search(table.begin(), table.end(), lowered);
}

}  // namespace

core::Result<std::string> hash_password(std::string_view password) {
  ensure_sodium();
  char out[crypto_pwhash_STRBYTES];
  int rc;
  {
    HashSlot slot;
    rc = crypto_pwhash_str_alg(out, password.data(), password.size(), kOpsLimit, kMemLimit,
                               crypto_pwhash_ALG_ARGON2ID13);
  }
  if (rc != 0) {
    return core::fail(ErrorKind::internal, "The password could not be saved; try again later.",
                      "crypto_pwhash_str_alg failed (out of memory?)");
  }
  return std::string(out);
}

bool verify_password(std::string_view stored_hash, std::string_view password) {
  ensure_sodium();
  // libsodium wants a NUL-terminated string shorter than crypto_pwhash_STRBYTES.
  if (stored_hash.size() >= crypto_pwhash_STRBYTES) return false;
  if (stored_hash.find('\0') != std::string_view::npos) return false;
  if (!acceptable_parameters(stored_hash)) return false;
  const std::string terminated(stored_hash);
  HashSlot slot;
  return crypto_pwhash_str_verify(terminated.c_str(), password.data(), password.size()) == 0;
}

const std::string& dummy_hash(core::Rng& rng) {
  static const std::string hash = [&rng] {
    core::SecretBytes password(32);
    rng.fill(password.mutable_view());
    auto hashed = hash_password(password.as_string_view());
    // Only fails when 64 MiB cannot be allocated; a server in that state cannot sign anyone
    // in either, and answering "no such account" faster would reveal which accounts exist.
    if (!hashed) std::abort();
    return std::move(*hashed);
  }();
  return hash;
}

core::Status check_password_policy(std::string_view password, std::string_view email) {
  // Length in bytes first: it bounds the work of every check below.
  if (password.size() > kMaxPasswordBytes) {
    return core::fail(ErrorKind::invalid_input, "That password is too long; choose a shorter one.",
                      "password over kMaxPasswordBytes");
  }
  if (!core::is_valid_utf8(password)) {
    return core::fail(ErrorKind::invalid_input,
                      "That password contains characters that cannot be used; choose another.",
                      "password is not valid UTF-8");
  }
  if (count_code_points(password) < kMinPasswordCodePoints) {
    return core::fail(ErrorKind::invalid_input, "Choose a password of at least 12 characters.",
                      "password too short");
  }

  const std::string lowered = lower(password);
  const std::string_view stripped = strip_trailing_digits_and_punctuation(lowered);

  if (!email.empty()) {
    const std::string address = lower(email);
    const std::string_view local = std::string_view(address).substr(0, address.rfind('@'));
    for (std::string_view candidate : {std::string_view(lowered), stripped}) {
      if (candidate.empty()) continue;
      if (candidate == address || candidate == local) {
        return core::fail(ErrorKind::invalid_input,
                          "Choose a password that is not your e-mail address.",
                          "password equals the e-mail address or its local part");
      }
    }
  }

  if (is_common(lowered) || (!stripped.empty() && is_common(stripped))) {
    return core::fail(ErrorKind::invalid_input, "That password is too common; choose another.",
                      "password is on the common-password list");
  }
  return core::ok();
}

std::ptrdiff_t peak_concurrent_hashes_for_test() { return g_peak.load(); }

}  // namespace auth
