// Trust: untrusted network input (the token comes back in the POST body). The structure
// is checked before anything else is looked at, the MAC before any claim is believed.
//
// Layout (version 1), then base64url without padding:
//   u8  version = 1
//   u8  form id length (1..63), then the form id bytes
//   u32 form version, big-endian
//   i64 issued_at, unix seconds, big-endian two's complement
//   16  nonce
//   32  HMAC-SHA-256(key, everything above)

#include "forms/token.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "core/encoding.hpp"
#include "crypto/hmac.hpp"
#include "forms/detail/syntax.hpp"

namespace forms {
namespace {

constexpr std::uint8_t kTokenVersion = 1;
constexpr std::size_t kMacBytes = 32;
constexpr std::size_t kNonceBytes = std::tuple_size_v<store::TokenNonce>;
// Fixed bytes around the form id: version, id length, form version, issued_at, nonce.
constexpr std::size_t kFixedBytes = 1 + 1 + 4 + 8 + kNonceBytes;
// Tolerated clock difference between the servers of a cluster: a token issued "a little
// in the future" by a peer whose clock runs ahead is still good.
constexpr std::int64_t kClockSkewSeconds = 60;

void put_be(std::vector<std::uint8_t>& out, std::uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

std::uint64_t get_be(const std::uint8_t* in, int bytes) {
  std::uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value = (value << 8) | in[i];
  return value;
}

std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

core::Unexpected<core::Error> malformed(std::string detail) {
  return core::fail(core::ErrorKind::invalid_input, "malformed form token", std::move(detail));
}

}  // namespace

std::string issue_token(const core::SecretBytes& key, const TokenClaims& claims) {
  std::vector<std::uint8_t> payload;
  payload.reserve(kFixedBytes + claims.form_id.size() + kMacBytes);
  payload.push_back(kTokenVersion);
  // Form ids are checked by parse_declaration ([a-z0-9-]{1,63}), so one byte holds the
  // length; anything else is a bug in the caller.
  if (claims.form_id.empty() || claims.form_id.size() > 63 || claims.form_version < 0) {
    throw std::invalid_argument("issue_token: invalid claims");
  }
  payload.push_back(static_cast<std::uint8_t>(claims.form_id.size()));
  payload.insert(payload.end(), claims.form_id.begin(), claims.form_id.end());
  put_be(payload, static_cast<std::uint32_t>(claims.form_version), 4);
  put_be(payload, static_cast<std::uint64_t>(claims.issued_at), 8);
  payload.insert(payload.end(), claims.nonce.begin(), claims.nonce.end());
  const crypto::Mac mac = crypto::hmac_sha256(key.view(), payload);
  payload.insert(payload.end(), mac.begin(), mac.end());
  return core::base64url_encode(payload);
}

core::Result<ParsedToken> parse_token(std::string_view token) {
  if (token.empty() || token.size() > kMaxTokenBytes) {
    return malformed(fmt::format("token length {}", token.size()));
  }
  const auto decoded = core::base64url_decode(token);
  if (!decoded) return malformed("not base64url");
  const std::vector<std::uint8_t>& bytes = *decoded;
  if (bytes.size() < kFixedBytes + 1 + kMacBytes) return malformed("too short");
  if (bytes[0] != kTokenVersion) return malformed(fmt::format("version {}", bytes[0]));
  const std::size_t id_length = bytes[1];
  if (bytes.size() != kFixedBytes + id_length + kMacBytes) return malformed("length mismatch");

  ParsedToken parsed;
  const auto* p = bytes.data() + 2;
  parsed.claims.form_id.assign(reinterpret_cast<const char*>(p), id_length);
  if (!detail::is_form_id(parsed.claims.form_id)) return malformed("bad form id");
  p += id_length;
  const std::uint64_t version = get_be(p, 4);
  if (version > static_cast<std::uint64_t>(INT_MAX)) return malformed("bad form version");
  parsed.claims.form_version = static_cast<int>(version);
  p += 4;
  parsed.claims.issued_at = static_cast<std::int64_t>(get_be(p, 8));
  p += 8;
  std::memcpy(parsed.claims.nonce.data(), p, kNonceBytes);
  p += kNonceBytes;
  const std::size_t signed_length = static_cast<std::size_t>(p - bytes.data());
  parsed.signed_part.assign(reinterpret_cast<const char*>(bytes.data()), signed_length);
  parsed.mac.assign(reinterpret_cast<const char*>(p), kMacBytes);
  return parsed;
}

TokenCheck verify_token(const core::SecretBytes& key, std::string_view token,
                        std::string_view expected_form_id, core::TimePoint now,
                        std::chrono::seconds max_age) {
  TokenCheck check;
  auto parsed = parse_token(token);
  if (!parsed) {
    check.problem = TokenProblem::malformed;
    return check;
  }
  // An empty key means the server secret was never loaded; nothing may verify with it.
  const crypto::Mac expected = crypto::hmac_sha256(key.view(), as_bytes(parsed->signed_part));
  if (key.empty() || !crypto::constant_time_equal(expected, as_bytes(parsed->mac))) {
    check.problem = TokenProblem::bad_mac;
    return check;
  }
  if (parsed->claims.form_id != expected_form_id) {
    check.problem = TokenProblem::wrong_form;
    return check;
  }
  const std::int64_t now_s = core::unix_seconds(now);
  const std::int64_t issued = parsed->claims.issued_at;
  // Compared as differences that cannot overflow: issued_at is attacker-chosen only up to
  // the MAC, but a bad clock or key reuse must still not wrap around.
  if (issued > now_s && static_cast<std::uint64_t>(issued) - static_cast<std::uint64_t>(now_s) >
                            static_cast<std::uint64_t>(kClockSkewSeconds)) {
    check.problem = TokenProblem::from_future;
    return check;
  }
  if (issued<now_s&& static_cast<std::uint64_t>(now_s) -
             static_cast<std::uint64_t>(
                 issued)> static_cast<std::uint64_t>(std::max<std::int64_t>(0, max_age.count()))) {
    check.problem = TokenProblem::expired;
    return check;
  }
  check.ok = true;
  check.claims = std::move(parsed->claims);
  return check;
}

}  // namespace forms
