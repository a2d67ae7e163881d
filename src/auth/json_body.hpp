#pragma once
// JSON request bodies of the portal API (application/json, at most 64 KiB).
// Trust: untrusted network input.
//
// The body must be one JSON object; its fields are read through typed accessors that bound
// every length and name the field, never its value, in their errors. Values may be secrets
// (passwords, recovery codes): JsonObject wipes its string values when destroyed, but the
// caller must wipe the request body and every string it takes out (core::secure_wipe), and
// must not log them. nlohmann's parser keeps a transient copy of each token that cannot be
// wiped; that is the limit of what this layer can do. Nothing here logs.

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace auth {

inline constexpr std::size_t kMaxJsonBodyBytes = 64 * 1024;  // the API's body limit (PORTAL.md)
// Our requests nest two levels at most ({"roles": [...]}); 8 leaves room and keeps the
// parser's and destructor's work flat.
inline constexpr std::size_t kMaxJsonDepth = 8;
// Members of any one object: our requests have at most a handful.
inline constexpr std::size_t kMaxJsonMembers = 64;

class JsonObject;

// Parses `body` as one JSON object. Errors: too_large over `max_bytes`; invalid_input for
// invalid UTF-8, invalid JSON, a top level that is not an object, nesting deeper than
// kMaxJsonDepth, an object with more than kMaxJsonMembers members, or a member name repeated
// in one object (parsers disagree on which one wins, so the request is ambiguous).
core::Result<JsonObject> parse_json_object(std::string_view body,
                                           std::size_t max_bytes = kMaxJsonBodyBytes);

class JsonObject {
 public:
  JsonObject(JsonObject&& other) noexcept;
  JsonObject& operator=(JsonObject&& other) noexcept;
  JsonObject(const JsonObject&) = delete;
  JsonObject& operator=(const JsonObject&) = delete;
  ~JsonObject();  // wipes every string value

  // Member `key` as a string of at most `max_len` bytes (valid UTF-8, no NUL). invalid_input
  // when it is missing, null, not a string, too long or contains NUL.
  core::Result<std::string> string(std::string_view key, std::size_t max_len) const;
  // The same, but a missing or null member gives nullopt.
  core::Result<std::optional<std::string>> optional_string(std::string_view key,
                                                           std::size_t max_len) const;
  // Member `key` as an array of at most `max_items` strings of at most `max_len` bytes each.
  core::Result<std::vector<std::string>> string_array(std::string_view key, std::size_t max_items,
                                                      std::size_t max_len) const;

  // Member `key` as an object of at most `max_items` members, each a string of at most
  // `max_len` bytes, by name; a missing or null member gives an empty list. The
  // member names are the caller's to check.
  core::Result<std::vector<std::pair<std::string, std::string>>> optional_string_map(
      std::string_view key, std::size_t max_items, std::size_t max_len) const;

  // Member `key` as true or false; a missing or null member gives nullopt. invalid_input when
  // it is anything else.
  core::Result<std::optional<bool>> optional_bool(std::string_view key) const;
  // Member `key` as a whole number from `min` to `max`; a missing or null member gives
  // nullopt. invalid_input when it is anything else (a fraction, a string, out of range).
  core::Result<std::optional<std::int64_t>> optional_int(std::string_view key, std::int64_t min,
                                                         std::int64_t max) const;
  // The name of a member not in `known`, if there is one (the first in the body's order is
  // not promised): a request with a misspelt field is refused, not half understood.
  std::optional<std::string> unknown_member(std::initializer_list<std::string_view> known) const;

  bool contains(std::string_view key) const;
  std::size_t size() const;  // number of members

 private:
  friend core::Result<JsonObject> parse_json_object(std::string_view, std::size_t);
  explicit JsonObject(std::unique_ptr<nlohmann::json> value);

  std::unique_ptr<nlohmann::json> value_;  // always an object; null only after a move
};

}  // namespace auth
