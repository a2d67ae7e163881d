#pragma once
// The one mapping from a failure's kind to an HTTP status (STYLE.md "Errors", 3). Every
// handler that answers a core::Error goes through it, so a failing store read is the same
// status on every route: `unavailable` (database busy, disk full) is 503 and says "try
// again"; our own bug or broken data is 500.

#include "core/result.hpp"

namespace http {

constexpr unsigned status_for(core::ErrorKind kind) {
  switch (kind) {
    case core::ErrorKind::invalid_input:
      return 400;
    case core::ErrorKind::not_found:
      return 404;
    case core::ErrorKind::conflict:
      return 409;
    case core::ErrorKind::too_large:
      return 413;
    case core::ErrorKind::rate_limited:
      return 429;
    case core::ErrorKind::unavailable:
      return 503;
    case core::ErrorKind::integrity:
    case core::ErrorKind::internal:
      return 500;
  }
  return 500;
}

}  // namespace http
