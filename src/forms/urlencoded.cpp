// Trust: untrusted network input. Every byte of the body is checked here; errors never
// echo a name or a value (values are PHI), only the position of the offending pair.

#include "forms/urlencoded.hpp"

#include <fmt/format.h>

#include <optional>

#include "core/encoding.hpp"
#include "core/secret.hpp"

namespace forms {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes one name or value into `out`; false on a malformed %-escape.
bool decode(std::string_view in, std::string& out) {
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = hex_value(in[i + 1]);
      const int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += c;
    }
  }
  return true;
}

void wipe(std::string& s) {
  if (!s.empty()) core::secure_wipe(s.data(), s.size());
  s.clear();
}

// Wipes what was decoded so far when parsing fails half-way: values are PHI.
struct PairsGuard {
  FieldPairs& pairs;
  bool keep = false;
  ~PairsGuard() {
    if (keep) return;
    for (auto& [name, value] : pairs) {
      wipe(name);
      wipe(value);
    }
    pairs.clear();
  }
};

std::optional<std::string> check_text(const std::string& text, std::size_t pair, bool is_name) {
  const char* part = is_name ? "name" : "value";
  if (text.find('\0') != std::string::npos) {
    return fmt::format("field {}: the {} contains a NUL character", pair, part);
  }
  if (!core::is_valid_utf8(text)) {
    return fmt::format("field {}: the {} is not valid UTF-8", pair, part);
  }
  return std::nullopt;
}

}  // namespace

core::Result<FieldPairs> parse_urlencoded(std::string_view body, const UrlencodedLimits& limits) {
  if (body.size() > limits.max_bytes) {
    return core::fail(core::ErrorKind::too_large, "the form body is too large");
  }
  FieldPairs pairs;
  PairsGuard guard{pairs};
  std::size_t start = 0;
  std::size_t index = 0;  // 1-based position of the pair, for error messages
  while (start <= body.size()) {
    auto amp = body.find('&', start);
    if (amp == std::string_view::npos) amp = body.size();
    const std::string_view segment = body.substr(start, amp - start);
    start = amp + 1;
    // Browsers never send empty segments ("a=1&&b=2", a trailing '&'); skipping them, as
    // the WHATWG parser does, is harmless.
    if (segment.empty()) continue;
    ++index;
    if (pairs.size() == limits.max_pairs) {
      return core::fail(core::ErrorKind::too_large, "the form has too many fields",
                        fmt::format("more than {} pairs", limits.max_pairs));
    }
    const auto eq = segment.find('=');
    const std::string_view raw_name = segment.substr(0, eq);
    const std::string_view raw_value =
        eq == std::string_view::npos ? std::string_view{} : segment.substr(eq + 1);
    // An encoded name is at most three times its decoded size; refuse early.
    if (raw_name.size() > 3 * limits.max_name_bytes) {
      return core::fail(core::ErrorKind::invalid_input,
                        fmt::format("field {}: the name is too long", index));
    }
    std::string name;
    std::string value;
    if (!decode(raw_name, name)) {
      return core::fail(core::ErrorKind::invalid_input,
                        fmt::format("field {}: malformed percent-encoding in the name", index));
    }
    if (!decode(raw_value, value)) {
      wipe(value);
      return core::fail(core::ErrorKind::invalid_input,
                        fmt::format("field {}: malformed percent-encoding in the value", index));
    }
    std::optional<std::string> problem;
    if (name.empty()) {
      problem = fmt::format("field {}: the name is empty", index);
    } else if (name.size() > limits.max_name_bytes) {
      problem = fmt::format("field {}: the name is too long", index);
    }
    if (!problem) problem = check_text(name, index, true);
    if (!problem) problem = check_text(value, index, false);
    if (problem) {
      wipe(value);
      return core::fail(core::ErrorKind::invalid_input, *problem);
    }
    pairs.emplace_back(std::move(name), std::move(value));
  }
  guard.keep = true;
  return pairs;
}

std::string urlencode(std::string_view raw) {
  // The application/x-www-form-urlencoded byte serializer (WHATWG URL): these pass as
  // they are, space becomes '+', everything else %XX.
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(raw.size());
  for (char c : raw) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '*' ||
        u == '-' || u == '.' || u == '_') {
      out += c;
    } else if (u == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0x0F];
    }
  }
  return out;
}

}  // namespace forms
