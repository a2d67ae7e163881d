#include "store/engine/connection.hpp"

#include <fmt/format.h>

namespace store::engine {

bool Row::is_null(std::size_t column) const {
  return column >= columns_.size() || std::holds_alternative<std::monostate>(columns_[column]);
}

std::int64_t Row::int64(std::size_t column) const {
  if (column >= columns_.size()) return 0;
  if (const auto* v = std::get_if<std::int64_t>(&columns_[column])) return *v;
  return 0;
}

std::string Row::text(std::size_t column) const {
  if (column >= columns_.size()) return {};
  const Value& value = columns_[column];
  if (const auto* v = std::get_if<std::string>(&value)) return *v;
  if (const auto* v = std::get_if<std::vector<std::uint8_t>>(&value)) {
    return std::string(v->begin(), v->end());
  }
  if (const auto* v = std::get_if<std::int64_t>(&value)) return std::to_string(*v);
  return {};
}

std::vector<std::uint8_t> Row::blob(std::size_t column) const {
  if (column >= columns_.size()) return {};
  const Value& value = columns_[column];
  if (const auto* v = std::get_if<std::vector<std::uint8_t>>(&value)) return *v;
  if (const auto* v = std::get_if<std::string>(&value)) return {v->begin(), v->end()};
  return {};
}

const Value& Row::value(std::size_t column) const {
  static const Value kNull;
  return column < columns_.size() ? columns_[column] : kNull;
}

std::string to_postgres_placeholders(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 8);
  int next = 1;  // for a bare `?`
  char quote = 0;
  for (std::size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (quote != 0) {
      out += c;
      if (c == quote) quote = 0;  // a doubled quote re-opens at once: same result
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      out += c;
      continue;
    }
    if (c != '?') {
      out += c;
      continue;
    }
    std::size_t j = i + 1;
    while (j < sql.size() && sql[j] >= '0' && sql[j] <= '9') ++j;
    if (j == i + 1) {
      out += fmt::format("${}", next++);
    } else {
      out += '$';
      out.append(sql.substr(i + 1, j - i - 1));
      i = j - 1;
    }
  }
  return out;
}

}  // namespace store::engine
