#include "auth/json_body.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/encoding.hpp"
#include "core/secret.hpp"

namespace auth {
namespace {

using core::ErrorKind;
using Json = nlohmann::json;

core::Unexpected<core::Error> bad_body(std::string public_text, std::string detail) {
  return core::fail(ErrorKind::invalid_input, std::move(public_text), std::move(detail));
}

core::Unexpected<core::Error> bad_field(std::string_view key, std::string_view problem) {
  // The key is ours (a field name from our code), never the client's value.
  return core::fail(ErrorKind::invalid_input, fmt::format("The field \"{}\" {}.", key, problem),
                    fmt::format("json field {}: {}", key, problem));
}

// The deepest nesting of '{' and '[' outside strings. Run before the parser so that nothing
// deep is ever built; for valid JSON it is exact, and invalid JSON is refused by the parser.
std::size_t nesting_depth(std::string_view text) {
  std::size_t depth = 0;
  std::size_t deepest = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

void wipe_strings(Json& value) {
  if (value.is_string()) {
    auto& text = value.get_ref<std::string&>();
    core::secure_wipe(text.data(), text.size());
  } else if (value.is_structured()) {
    // Depth is at most kMaxJsonDepth, so the recursion is shallow.
    for (auto& child : value) wipe_strings(child);
  }
}

// A string value, checked against the accessor's limits.
core::Result<std::string> checked_string(std::string_view key, const Json& value,
                                         std::size_t max_len) {
  if (!value.is_string()) return bad_field(key, "must be text");
  const auto& text = value.get_ref<const std::string&>();
  if (text.size() > max_len) return bad_field(key, "is too long");
  // The parser only produces valid UTF-8 (it refuses lone surrogates), but \u0000 is NUL.
  if (text.find('\0') != std::string::npos) return bad_field(key, "contains a NUL character");
  return text;
}

}  // namespace

core::Result<JsonObject> parse_json_object(std::string_view body, std::size_t max_bytes) {
  if (body.size() > max_bytes) {
    return core::fail(ErrorKind::too_large, "The request body is too large.",
                      fmt::format("json body of {} bytes, limit {}", body.size(), max_bytes));
  }
  if (!core::is_valid_utf8(body)) {
    return bad_body("The request body is not valid UTF-8.", "json body not UTF-8");
  }
  if (nesting_depth(body) > kMaxJsonDepth) {
    return bad_body("The request body is nested too deeply.", "json body too deep");
  }

  // The callback sees every member name with its object; it only takes notes (returning
  // false would silently drop data instead of refusing the body).
  std::vector<std::vector<std::string>> open_objects;
  bool repeated = false;
  bool too_many = false;
  const Json::parser_callback_t notes = [&](int /*depth*/, Json::parse_event_t event,
                                            Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
        open_objects.emplace_back();
        break;
      case Json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case Json::parse_event_t::key:
        if (!open_objects.empty() && parsed.is_string()) {
          auto& names = open_objects.back();
          const auto& name = parsed.get_ref<const std::string&>();
          if (std::find(names.begin(), names.end(), name) != names.end()) {
            repeated = true;
          } else if (names.size() >= kMaxJsonMembers) {
            too_many = true;
          } else {
            names.push_back(name);
          }
        }
        break;
      default:
        break;
    }
    return true;
  };

  auto value = std::make_unique<Json>();
  try {
    *value = Json::parse(body.begin(), body.end(), notes, /*allow_exceptions=*/false,
                         /*ignore_comments=*/false);
  } catch (const Json::exception& e) {
    // allow_exceptions=false covers syntax errors; this is for anything else nlohmann throws.
    // e.what() may quote the input, so it stays out of the error.
    return bad_body("The request body is not valid JSON.",
                    fmt::format("json parser exception id {}", e.id));
  }
  if (value->is_discarded()) {
    return bad_body("The request body is not valid JSON.", "json syntax error");
  }
  JsonObject object(std::move(value));  // from here on, the strings are wiped on every path
  if (!object.value_->is_object()) {
    return bad_body("The request body must be a JSON object.", "json top level not an object");
  }
  if (repeated) return bad_body("The request body repeats a field.", "json repeated member");
  if (too_many) return bad_body("The request body has too many fields.", "json too many members");
  return object;
}

JsonObject::JsonObject(std::unique_ptr<nlohmann::json> value) : value_(std::move(value)) {}
JsonObject::JsonObject(JsonObject&& other) noexcept = default;

JsonObject& JsonObject::operator=(JsonObject&& other) noexcept {
  if (this != &other) {
    if (value_) wipe_strings(*value_);
    value_ = std::move(other.value_);
  }
  return *this;
}

JsonObject::~JsonObject() {
  if (value_) wipe_strings(*value_);
}

core::Result<std::string> JsonObject::string(std::string_view key, std::size_t max_len) const {
  const auto it = value_->find(key);
  if (it == value_->end() || it->is_null()) return bad_field(key, "is missing");
  return checked_string(key, *it, max_len);
}

core::Result<std::optional<std::string>> JsonObject::optional_string(std::string_view key,
                                                                     std::size_t max_len) const {
  const auto it = value_->find(key);
  if (it == value_->end() || it->is_null()) return std::optional<std::string>();
  auto text = checked_string(key, *it, max_len);
  if (!text) return core::fail(std::move(text).error());
  return std::optional<std::string>(std::move(*text));
}

core::Result<std::vector<std::string>> JsonObject::string_array(std::string_view key,
                                                                std::size_t max_items,
                                                                std::size_t max_len) const {
  const auto it = value_->find(key);
  if (it == value_->end() || it->is_null()) return bad_field(key, "is missing");
  if (!it->is_array()) return bad_field(key, "must be a list");
  if (it->size() > max_items) return bad_field(key, "has too many items");
  std::vector<std::string> items;
  items.reserve(it->size());
  for (const auto& item : *it) {
    auto text = checked_string(key, item, max_len);
    if (!text) {
      for (auto& taken : items) core::secure_wipe(taken.data(), taken.size());
      return core::fail(std::move(text).error());
    }
    items.push_back(std::move(*text));
  }
  return items;
}

core::Result<std::vector<std::pair<std::string, std::string>>> JsonObject::optional_string_map(
    std::string_view key, std::size_t max_items, std::size_t max_len) const {
  std::vector<std::pair<std::string, std::string>> members;
  const auto it = value_->find(key);
  if (it == value_->end() || it->is_null()) return members;
  if (!it->is_object()) return bad_field(key, "must be an object");
  if (it->size() > max_items) return bad_field(key, "has too many members");
  members.reserve(it->size());
  for (const auto& item : it->items()) {
    auto text = checked_string(key, item.value(), max_len);
    if (!text) {
      for (auto& taken : members) core::secure_wipe(taken.second.data(), taken.second.size());
      return core::fail(std::move(text).error());
    }
    members.emplace_back(item.key(), std::move(*text));
  }
  return members;
}

core::Result<std::optional<bool>> JsonObject::optional_bool(std::string_view key) const {
  const auto it = value_->find(key);
  if (it == value_->end() || it->is_null()) return std::optional<bool>();
  if (!it->is_boolean()) return bad_field(key, "must be true or false");
  return std::optional<bool>(it->get<bool>());
}

core::Result<std::optional<std::int64_t>> JsonObject::optional_int(std::string_view key,
                                                                   std::int64_t min,
                                                                   std::int64_t max) const {
  const auto it = value_->find(key);
  if (it == value_->end() || it->is_null()) return std::optional<std::int64_t>();
  if (!it->is_number_integer()) return bad_field(key, "must be a whole number");
  std::int64_t value = 0;
  if (it->is_number_unsigned()) {
    const auto u = it->get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(max)) {
      return bad_field(key, fmt::format("must be from {} to {}", min, max));
    }
    value = static_cast<std::int64_t>(u);
  } else {
    value = it->get<std::int64_t>();
  }
  if (value < min || value > max)
    return bad_field(key, fmt::format("must be from {} to {}", min, max));
  return std::optional<std::int64_t>(value);
}

std::optional<std::string> JsonObject::unknown_member(
    std::initializer_list<std::string_view> known) const {
  for (const auto& item : value_->items()) {
    if (std::find(known.begin(), known.end(), std::string_view(item.key())) == known.end()) {
      return item.key();
    }
  }
  return std::nullopt;
}

bool JsonObject::contains(std::string_view key) const { return value_->contains(key); }

std::size_t JsonObject::size() const { return value_->size(); }

}  // namespace auth
