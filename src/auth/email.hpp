#pragma once
// Staff log-ins are e-mail addresses: one rule for their shape, used by the portal's API and
// by the CLI (`sealpost user add`).
// Trust: `email` is what a user or an administrator typed.

#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace auth {

// RFC 5321's limit on a forward path; also bounds what an audit entry quotes of a typed name.
inline constexpr std::size_t kMaxEmailBytes = 254;

// Whether an e-mail address is acceptable as a staff login (shape only; lower-cased).
core::Result<std::string> normalize_email(std::string_view email);

}  // namespace auth
