// libFuzzer target: forms::parse_declaration, then render_form of whatever it accepts.
// Trust: declarations come from administrators, but a form file is still a parser input
// with a size limit (STYLE.md "Untrusted input"). Checks that errors are one line, that an
// accepted declaration keeps its documented syntax, and that rendering it never emits
// markup from its text.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "forms/declaration.hpp"
#include "forms/render.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

bool is_field_name(std::string_view s) {
  if (s.empty() || s.size() > 64 || s[0] < 'a' || s[0] > 'z') return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto form = forms::parse_declaration(text);
  if (!form) {
    const std::string& message = form.error().public_text();
    check(!message.empty() && message.find('\n') == std::string::npos);
    return 0;
  }
  check(size <= forms::kMaxDeclarationBytes);
  check(!form->id.empty() && !form->fields.empty());
  std::set<std::string> names;
  for (const auto& field : form->fields) {
    check(is_field_name(field.name));
    check(names.insert(field.name).second);
  }

  forms::RenderContext context;
  context.action = "/f/" + form->id;
  context.token = "token";
  context.csp_nonce = "nonce";
  for (const auto& field : form->fields) {
    context.echo[field.name] = {"<script>x</script>"};
    context.errors.push_back({field.name, "\"><img src=x>"});
  }
  const std::string html = forms::render_form(*form, context);
  check(html.find("<script") == std::string::npos && html.find("<img") == std::string::npos);
  check(html.find("<form") != std::string::npos);
  const std::string thanks = forms::render_thanks(*form, "REF", "nonce");
  check(thanks.find("<script") == std::string::npos);
  return 0;
}
