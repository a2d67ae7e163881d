#pragma once
// Campaign templates (issue 11): a subset of mustache, written by a form owner for a
// campaign's subject and body. Pure: text in, a parsed template out; a template and one
// contact's fields in, text out.
//
//   literal text            as written
//   {{name}}                a declared field, escaped for where it goes (Escape)
//   {{#name}}...{{/name}}   rendered when the field is present and not empty
//   {{^name}}...{{/name}}   rendered when the field is missing or empty
//   {{! comment }}          nothing
//
// Whitespace around the name inside a tag is allowed (`{{ name }}`). A name is
// [a-z][a-z0-9_]{0,63}. There are no partials, no delimiter changes, no unescaped output,
// no lambdas or lists, and no standalone-line trimming: text around tags stays as written.
// Trust: the text is untrusted (a form owner's, through the portal); every refusal is an
// invalid_input error naming the line. Values are contacts' fields: untrusted too, so they
// are always escaped at render time. Parsing and rendering are bounded and do not recurse.

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace campaigns {

struct TemplateLimits {
  static constexpr std::size_t kMaxBytes = 65536;
  static constexpr std::size_t kMaxTags = 512;  // every {{...}}, comments and closes too
  static constexpr std::size_t kMaxNesting = 8;
};

// How a value is written into the output:
// - html: & < > " ' become &amp; &lt; &gt; &quot; &#39;
// - text: as it is, except that control characters other than LF and TAB are dropped
// - header (a subject): CR, LF and TAB become a space and every other control character is
//   dropped, so a value can never start a new header line.
// Control characters are C0 (U+0000..U+001F), DEL and C1 (U+0080..U+009F); html keeps them.
// In every mode a byte that is not part of valid UTF-8 becomes U+FFFD, so the output is
// UTF-8. Literal text from the template is written as it is (it was checked when parsed).
enum class Escape { html, text, header };

// A parsed template; only parse_template makes one, so every name in it is declared and
// every section is closed.
class Template {
 public:
  // The distinct field names the template uses, sorted.
  std::vector<std::string> fields() const;

  struct Part {
    enum class Kind { text, value, section, inverted, end } kind = Kind::text;
    std::string text;     // text: the literal; otherwise the field's name
    std::size_t end = 0;  // section, inverted: the index of its `end` part
  };

 private:
  friend class TemplateParser;
  friend std::string render(const Template&, const std::map<std::string, std::string, std::less<>>&,
                            Escape);

  std::vector<Part> parts_;
};

core::Result<Template> parse_template(std::string_view text,
                                      const std::vector<std::string>& declared_fields);

// A missing value renders as empty.
std::string render(const Template& tmpl,
                   const std::map<std::string, std::string, std::less<>>& values, Escape escape);

}  // namespace campaigns
