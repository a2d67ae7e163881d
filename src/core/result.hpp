#pragma once
// Errors as values (STYLE.md "Errors"). A core::Error carries a public text from a
// fixed, reviewed set (safe to show to a client) and a detail that only goes to logs.

#include <string>
#include <string_view>
#include <utility>

namespace core {

// What kind of failure this is; each protocol maps kinds to its wire codes in one place.
enum class ErrorKind {
  invalid_input,  // the caller's bytes are wrong (400/422, a CLI one-liner)
  not_found,      // no such object (404)
  conflict,       // already exists / already used (409, replay)
  too_large,      // a size limit was exceeded (413)
  rate_limited,   // too many requests (429)
  unavailable,    // a temporary failure of ours: disk full, database busy (503)
  integrity,      // our own data failed a check: fail closed, raise an alert
  internal,       // a bug or an unexpected library failure (500)
};

class [[nodiscard]] Error {
 public:
  Error(ErrorKind kind, std::string public_text, std::string detail = {})
      : kind_(kind), public_text_(std::move(public_text)), detail_(std::move(detail)) {}

  ErrorKind kind() const noexcept { return kind_; }
  // Safe to show to a client or a CLI user. Never contains library, SQL or PHI text.
  const std::string& public_text() const noexcept { return public_text_; }
  // For logs only. Must never contain PHI or secrets either.
  const std::string& detail() const noexcept { return detail_; }

 private:
  ErrorKind kind_;
  std::string public_text_;
  std::string detail_;
};

}  // namespace core

#include "core/detail/expected.hpp"

namespace core {

template <class T>
using Result = Expected<T, Error>;

// Shorthand for the failure branch: `return core::fail(ErrorKind::invalid_input, "...")`.
inline Unexpected<Error> fail(ErrorKind kind, std::string public_text, std::string detail = {}) {
  return Unexpected<Error>(Error(kind, std::move(public_text), std::move(detail)));
}
inline Unexpected<Error> fail(Error error) { return Unexpected<Error>(std::move(error)); }

// Result<void> that reads naturally: `core::Status s = ...; if (!s) ...`.
using Status = Result<void>;
inline Status ok() { return {}; }

}  // namespace core
