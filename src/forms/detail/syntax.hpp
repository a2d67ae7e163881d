#pragma once
// Small syntax checks shared by the declaration parser, the validator and the token
// parser. Header-only: the module's CMakeLists lists its .cpp files explicitly.

#include <fmt/format.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace forms::detail {

inline bool is_ascii_lower(char c) { return c >= 'a' && c <= 'z'; }
inline bool is_ascii_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_ascii_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
inline bool is_ascii_alnum(char c) { return is_ascii_alpha(c) || is_ascii_digit(c); }

// Form ids appear in URLs and file-free store keys: [a-z0-9][a-z0-9-]{0,62}.
inline bool is_form_id(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  if (!is_ascii_lower(s[0]) && !is_ascii_digit(s[0])) return false;
  for (char c : s) {
    if (!is_ascii_lower(c) && !is_ascii_digit(c) && c != '-') return false;
  }
  return true;
}

// Field names become HTML name/id attributes and JSON keys: [a-z][a-z0-9_]{0,63}.
inline bool is_field_name(std::string_view s) {
  if (s.empty() || s.size() > 64 || !is_ascii_lower(s[0])) return false;
  for (char c : s) {
    if (!is_ascii_lower(c) && !is_ascii_digit(c) && c != '_') return false;
  }
  return true;
}

// Choice values are what the browser sends back: [A-Za-z0-9_-]{1,64}.
inline bool is_choice_value(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    if (!is_ascii_alnum(c) && c != '_' && c != '-') return false;
  }
  return true;
}

// "YYYY-MM-DD", a real calendar date, year 0001..9999. Because the format is fixed-width,
// two valid dates compare correctly as strings.
inline bool is_iso_date(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (!is_ascii_digit(s[i])) return false;
  }
  auto num = [&](std::size_t from, std::size_t len) {
    int v = 0;
    for (std::size_t i = from; i < from + len; ++i) v = v * 10 + (s[i] - '0');
    return v;
  };
  const int y = num(0, 4);
  const unsigned m = static_cast<unsigned>(num(5, 2));
  const unsigned d = static_cast<unsigned>(num(8, 2));
  if (y < 1) return false;
  return std::chrono::year_month_day{std::chrono::year{y}, std::chrono::month{m},
                                     std::chrono::day{d}}
      .ok();
}

// Unix seconds -> "2026-11-23T18:00:00Z" (UTC, proleptic Gregorian).
inline std::string iso8601_utc(std::int64_t unix_seconds) {
  using namespace std::chrono;
  const sys_seconds t{seconds{unix_seconds}};
  const sys_days day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss hms{t - day};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     hms.hours().count(), hms.minutes().count(), hms.seconds().count());
}

}  // namespace forms::detail
