// libFuzzer target: auth::parse_json_object and the JsonObject accessors (every portal API
// body). Trust: the input is untrusted network bytes. Besides "no crash, no sanitizer report,
// no exception escaping", it checks what the parser promises: only valid UTF-8 within the
// size limit is accepted, whatever it accepts nlohmann also reads as an object, and the
// accessors never return more than their limits allow.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "auth/json_body.hpp"
#include "core/encoding.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

void check_string(const core::Result<std::string>& text, std::size_t max_len) {
  if (!text) {
    check(text.error().kind() == core::ErrorKind::invalid_input);
    return;
  }
  check(text->size() <= max_len);
  check(text->find('\0') == std::string::npos);
  check(core::is_valid_utf8(*text));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  // A small limit as well as the default, so the size check is exercised at fuzzing sizes.
  const auto small = auth::parse_json_object(body, 64);
  if (small) check(body.size() <= 64);

  const auto object = auth::parse_json_object(body);
  if (!object) {
    check(!object.error().public_text().empty());
    check(!small.has_value());
    return 0;
  }
  check(body.size() <= auth::kMaxJsonBodyBytes);
  check(core::is_valid_utf8(body));
  const auto reference = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
  check(!reference.is_discarded() && reference.is_object());
  check(object->size() == reference.size());
  check(object->size() <= auth::kMaxJsonMembers);

  for (const std::string_view key : {"a", "email", "password", "code", "roles", ""}) {
    check(object->contains(key) == reference.contains(key));
    check_string(object->string(key, 16), 16);
    const auto optional = object->optional_string(key, 8);
    if (optional && *optional) check((*optional)->size() <= 8);
    if (optional && !*optional) check(!reference.contains(key) || reference[key].is_null());
    const auto flag = object->optional_bool(key);
    if (flag && *flag) check(reference[key].is_boolean() && reference[key] == **flag);
    if (!flag) check(flag.error().kind() == core::ErrorKind::invalid_input);
    const auto items = object->string_array(key, 4, 8);
    if (items) {
      check(items->size() <= 4);
      for (const auto& item : *items) check(item.size() <= 8 && core::is_valid_utf8(item));
    }
  }
  if (auto unknown = object->unknown_member({"a", "email"})) {
    check(reference.contains(*unknown) && *unknown != "a" && *unknown != "email");
  } else {
    for (const auto& item : reference.items()) check(item.key() == "a" || item.key() == "email");
  }
  return 0;
}
