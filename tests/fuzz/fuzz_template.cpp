// libFuzzer target: campaign templates (campaigns::parse_template, render).
// Trust: the input is an untrusted template (a form owner's, through the portal); the values
// rendered into it are contacts' fields, untrusted too. Besides "no crash, no sanitizer
// report", it checks what the escapes promise: html output holds no value's < > " ' (only
// the template's own), header output never holds CR or LF from a value, and every output is
// UTF-8.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "campaigns/template.hpp"
#include "core/encoding.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::vector<std::string> declared = {"name", "city", "vip", "code"};
  // Every value is hostile; "vip" is empty (a section is skipped), "code" is missing.
  static const std::map<std::string, std::string, std::less<>> values = {
      {"name", "<script>alert('x\"')</script>&\r\nBcc: evil@example.org\x01\xC2\x85"},
      {"city",
       "Orl\xC3\xA9"
       "ans\xFF\xC3\t\n"},
      {"vip", ""}};
  static const std::map<std::string, std::string, std::less<>> plain = {
      {"name", "n"}, {"city", "c"}, {"vip", "v"}, {"code", "k"}};
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto tmpl = campaigns::parse_template(text, declared);
  if (!tmpl) {
    check(!tmpl.error().public_text().empty());
    return 0;
  }
  check(size <= campaigns::TemplateLimits::kMaxBytes && core::is_valid_utf8(text));
  const auto fields = tmpl->fields();
  for (const std::string& field : fields) {
    check(std::find(declared.begin(), declared.end(), field) != declared.end());
  }
  const auto count = [](std::string_view s, std::string_view chars) {
    return std::count_if(s.begin(), s.end(),
                         [&](char c) { return chars.find(c) != std::string_view::npos; });
  };
  // With harmless values, the same characters as with hostile ones where it matters: a
  // value adds no markup in html and no line break in a header.
  const std::string html = campaigns::render(*tmpl, values, campaigns::Escape::html);
  const std::string html_plain = campaigns::render(*tmpl, plain, campaigns::Escape::html);
  const std::string text_out = campaigns::render(*tmpl, values, campaigns::Escape::text);
  const std::string header = campaigns::render(*tmpl, values, campaigns::Escape::header);
  const std::string header_plain = campaigns::render(*tmpl, plain, campaigns::Escape::header);
  check(core::is_valid_utf8(html) && core::is_valid_utf8(text_out) && core::is_valid_utf8(header));
  // "vip" differs between the two maps, so compare only templates that do not use it.
  if (std::find(fields.begin(), fields.end(), "vip") == fields.end() &&
      std::find(fields.begin(), fields.end(), "code") == fields.end()) {
    check(count(html, "<>\"'") == count(html_plain, "<>\"'"));
    check(count(header, "\r\n") == count(header_plain, "\r\n"));
  }
  return 0;
}
