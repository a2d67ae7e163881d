#include "portal/detail/query.hpp"

#include <fmt/format.h>

#include <charconv>
#include <limits>

#include "portal/limits.hpp"

namespace portal::detail {

using core::ErrorKind;

std::optional<std::string> Query::get(std::string_view name) const {
  for (const auto& [k, v] : pairs) {
    if (k == name) return v;
  }
  return std::nullopt;
}

core::Result<Query> parse_query(std::string_view target) {
  auto q = target.find('?');
  if (q == std::string_view::npos) return Query{};
  forms::UrlencodedLimits limits{.max_bytes = 4096, .max_pairs = 16, .max_name_bytes = 32};
  auto pairs = forms::parse_urlencoded(target.substr(q + 1), limits);
  if (!pairs) return core::fail(ErrorKind::invalid_input, "The query string is malformed.");
  return Query{std::move(*pairs)};
}

namespace {

core::Result<std::optional<std::int64_t>> int_param(const Query& q, std::string_view name,
                                                    std::int64_t min, std::int64_t max) {
  auto v = q.get(name);
  if (!v || v->empty()) return std::optional<std::int64_t>{};
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc{} || end != v->data() + v->size() || n < min || n > max) {
    return core::fail(ErrorKind::invalid_input,
                      fmt::format("\"{}\" must be a whole number from {} to {}.", name, min, max));
  }
  return std::optional<std::int64_t>(n);
}

}  // namespace

core::Result<RangeParams> range_params(const Query& q) {
  auto from = int_param(q, "from", 0, std::int64_t{1} << 40);
  if (!from) return core::fail(from.error());
  auto to = int_param(q, "to", 0, std::int64_t{1} << 40);
  if (!to) return core::fail(to.error());
  auto after = int_param(q, "after", 0, std::numeric_limits<std::int64_t>::max());
  if (!after) return core::fail(after.error());
  auto limit = int_param(q, "limit", 1, kMaxPage);
  if (!limit) return core::fail(limit.error());
  return RangeParams{.from = *from,
                     .to = *to,
                     .after = after->value_or(0),
                     .limit = static_cast<std::size_t>(limit->value_or(100))};
}

}  // namespace portal::detail
