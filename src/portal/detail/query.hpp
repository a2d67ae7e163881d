#pragma once
// Query strings of the portal's list endpoints: parsed with the urlencoded parser's limits,
// whole numbers in bounds, and the paging every list shares.
// Trust: untrusted (the request target).

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "forms/urlencoded.hpp"

namespace portal::detail {

struct Query {
  forms::FieldPairs pairs;
  std::optional<std::string> get(std::string_view name) const;
};

core::Result<Query> parse_query(std::string_view target);

// The parameters every list shares: a time range (unix seconds, `to` exclusive) and paging.
struct RangeParams {
  std::optional<std::int64_t> from;
  std::optional<std::int64_t> to;
  std::int64_t after = 0;
  std::size_t limit = 100;
};

core::Result<RangeParams> range_params(const Query& q);

// Paging: the store is asked for one row more than the page; if it comes, there is a next
// page, starting after the page's last row.
template <class Row, class Seq>
nlohmann::json take_page(std::vector<Row>& rows, std::size_t limit, Seq seq_of) {
  if (rows.size() <= limit) return nlohmann::json(nullptr);
  rows.resize(limit);
  return nlohmann::json(seq_of(rows.back()));
}

}  // namespace portal::detail
