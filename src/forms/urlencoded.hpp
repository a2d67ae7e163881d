#pragma once
// application/x-www-form-urlencoded bodies (HTML form posts).
// Trust: untrusted network input.

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace forms {

struct UrlencodedLimits {
  std::size_t max_bytes = 1 << 20;  // the body as a whole
  std::size_t max_pairs = 1000;     // a form has at most a few hundred inputs
  std::size_t max_name_bytes = 128;
};

using FieldPairs = std::vector<std::pair<std::string, std::string>>;

// Decodes `+` and %XX; refuses bad percent-encoding, invalid UTF-8 (after decoding), NUL
// bytes and anything over the limits. Order and repeats are kept (checkbox groups repeat).
core::Result<FieldPairs> parse_urlencoded(std::string_view body, const UrlencodedLimits& limits);

// Encodes for building bodies in tests and the load generator.
std::string urlencode(std::string_view raw);

}  // namespace forms
