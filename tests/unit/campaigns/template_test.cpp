// Campaign templates: values, sections, inverted sections and comments; the three escapes
// (an XSS payload in html, a header injection in a subject); and every refusal with its
// message and line, including each limit.

#include "campaigns/template.hpp"

#include <gtest/gtest.h>

#include <string>

namespace campaigns {
namespace {

using Values = std::map<std::string, std::string, std::less<>>;
using namespace std::string_literals;

const std::vector<std::string> kDeclared = {"name", "city", "code", "vip"};

std::string rendered(std::string_view text, const Values& values, Escape escape = Escape::text) {
  auto tmpl = parse_template(text, kDeclared);
  EXPECT_TRUE(tmpl) << text << ": " << tmpl.error().public_text();
  return tmpl ? render(*tmpl, values, escape) : "";
}

std::string refusal(std::string_view text) {
  auto tmpl = parse_template(text, kDeclared);
  EXPECT_FALSE(tmpl) << text;
  if (tmpl) return "";
  EXPECT_EQ(tmpl.error().kind(), core::ErrorKind::invalid_input);
  return tmpl.error().public_text();
}

TEST(Template, ValuesAndLiteralText) {
  EXPECT_EQ(rendered("", {}), "");
  EXPECT_EQ(rendered("Hello, world", {}), "Hello, world");
  EXPECT_EQ(rendered("Hello {{name}}!", {{"name", "Ann"}}), "Hello Ann!");
  EXPECT_EQ(rendered("Hello {{ name }} of {{\tcity\t}}", {{"name", "Ann"}, {"city", "Lyon"}}),
            "Hello Ann of Lyon");
  EXPECT_EQ(rendered("Hello {{name}}!", {}), "Hello !");  // missing: empty
  EXPECT_EQ(rendered("{{name}}{{name}}", {{"name", "x"}}), "xx");
  EXPECT_EQ(rendered("a }} b { c", {}), "a }} b { c");  // not tags
  EXPECT_EQ(rendered("caf\xC3\xA9 {{name}}", {{"name", "\xE2\x9C\x93"}}),
            "caf\xC3\xA9 \xE2\x9C\x93");
}

TEST(Template, Sections) {
  const std::string text = "Hi{{#vip}} dear {{name}}{{/vip}}{{^vip}} there{{/vip}}.";
  EXPECT_EQ(rendered(text, {{"vip", "yes"}, {"name", "Ann"}}), "Hi dear Ann.");
  EXPECT_EQ(rendered(text, {{"vip", ""}, {"name", "Ann"}}), "Hi there.");  // empty: absent
  EXPECT_EQ(rendered(text, {{"name", "Ann"}}), "Hi there.");
  EXPECT_EQ(rendered("{{#vip}}{{#city}}[{{city}}]{{/city}}{{^city}}?{{/city}}{{/vip}}",
                     {{"vip", "1"}, {"city", "Lyon"}}),
            "[Lyon]");
  EXPECT_EQ(
      rendered("{{#vip}}{{#city}}[{{city}}]{{/city}}{{^city}}?{{/city}}{{/vip}}", {{"vip", "1"}}),
      "?");
  EXPECT_EQ(rendered("{{#vip}}{{#city}}x{{/city}}{{/vip}}after", {{"city", "Lyon"}}), "after");
  EXPECT_EQ(rendered("{{# vip }}v{{/ vip }}", {{"vip", "1"}}), "v");
  EXPECT_EQ(rendered("{{#vip}}{{/vip}}", {{"vip", "1"}}), "");
}

TEST(Template, Comments) {
  EXPECT_EQ(rendered("a{{! anything }}b", {}), "ab");
  EXPECT_EQ(rendered("a{{!}}b", {}), "ab");
  EXPECT_EQ(rendered("a{{! even {{undeclared or {{{x }}b", {}), "ab");  // ends at the first }}
  EXPECT_EQ(rendered("a{{!\nmulti\nline\n}}b", {}), "ab");
}

TEST(Template, FieldsAreDistinctAndSorted) {
  auto tmpl = parse_template("{{name}} {{#vip}}{{city}}{{name}}{{/vip}}{{! code }}", kDeclared);
  ASSERT_TRUE(tmpl);
  EXPECT_EQ(tmpl->fields(), (std::vector<std::string>{"city", "name", "vip"}));
}

TEST(Template, HtmlEscape) {
  EXPECT_EQ(rendered("<p>{{name}}</p>", {{"name", "<script>alert(\"x\" + 'y') & 1</script>"}},
                     Escape::html),
            "<p>&lt;script&gt;alert(&quot;x&quot; + &#39;y&#39;) &amp; 1&lt;/script&gt;</p>");
  EXPECT_EQ(rendered("<a title=\"{{name}}\">", {{"name", "\" onmouseover=\"evil()"}}, Escape::html),
            "<a title=\"&quot; onmouseover=&quot;evil()\">");
  EXPECT_EQ(rendered("{{name}}", {{"name", "a\nb"}}, Escape::html), "a\nb");
}

TEST(Template, TextEscapeDropsControlsButLineBreaksAndTabs) {
  EXPECT_EQ(rendered("{{name}}",
                     {{"name",
                       "a\nb\tc\rd\x01"
                       "e\x7f"
                       "f\xC2\x85g<&>"}},
                     Escape::text),
            "a\nb\tcdefg<&>");
}

TEST(Template, HeaderEscapeKeepsOneLine) {
  EXPECT_EQ(rendered("Hello {{name}}", {{"name", "x\r\nBcc: evil@example.org"}}, Escape::header),
            "Hello x  Bcc: evil@example.org");
  EXPECT_EQ(rendered("{{name}}",
                     {{"name",
                       "a\tb\x00"
                       "c\x1b"
                       "d\xC2\x85"
                       "e"s}},
                     Escape::header),
            "a bcde");
  const std::string out = rendered(
      "{{name}}", {{"name", "x\r\nBcc: evil@example.org\n\rTo: y\x0b\x0c"}}, Escape::header);
  EXPECT_EQ(out.find_first_of("\r\n"), std::string::npos);
}

TEST(Template, InvalidUtf8InAValueBecomesAReplacementCharacter) {
  for (Escape escape : {Escape::html, Escape::text, Escape::header}) {
    EXPECT_EQ(rendered("{{name}}",
                       {{"name",
                         "a\xFF"
                         "b\xC3"}},
                       escape),
              "a\xEF\xBF\xBD"
              "b\xEF\xBF\xBD");
    EXPECT_EQ(rendered("{{name}}", {{"name", "\xED\xA0\x80"}}, escape),  // a surrogate
              "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    EXPECT_EQ(rendered("{{name}}", {{"name", "\xC0\xAF"}}, escape),  // overlong '/'
              "\xEF\xBF\xBD\xEF\xBF\xBD");
  }
}

TEST(Template, Refusals) {
  EXPECT_EQ(refusal("a\n{{{name}}}"),
            "line 2: unescaped output is not allowed: write {{name}}, which is escaped");
  EXPECT_EQ(refusal("{{&name}}"),
            "line 1: unescaped output is not allowed: write {{name}}, which is escaped");
  EXPECT_EQ(refusal("\n\n{{> footer}}"), "line 3: partials ({{>...}}) are not allowed");
  EXPECT_EQ(refusal("{{=<% %>=}}"), "line 1: changing the delimiters ({{=...=}}) is not allowed");
  EXPECT_EQ(refusal("Hi {{email}}"),
            "line 1: field \"email\" is not declared: add it to the campaign's fields");
  EXPECT_EQ(refusal("{{#email}}{{/email}}"),
            "line 1: field \"email\" is not declared: add it to the campaign's fields");
  EXPECT_EQ(refusal("{{}}"), "line 1: a tag has no field name");
  EXPECT_EQ(refusal("{{#  }}"), "line 1: a tag has no field name");
  EXPECT_EQ(refusal("{{Name}}"),
            "line 1: a tag's name must be a field name: lower-case letters, digits and _, "
            "starting with a letter, at most 64");
  EXPECT_EQ(refusal("{{first name}}"),
            "line 1: a tag's name must be a field name: lower-case letters, digits and _, "
            "starting with a letter, at most 64");
  EXPECT_EQ(refusal("{{name.first}}"),
            "line 1: a tag's name must be a field name: lower-case letters, digits and _, "
            "starting with a letter, at most 64");
  EXPECT_EQ(refusal("x\n{{#vip}}\n\ny"), "line 2: section \"vip\" is not closed: add {{/vip}}");
  EXPECT_EQ(refusal("{{#vip}}\n{{#city}}\n{{/vip}}"),
            "line 3: {{/vip}} does not close section \"city\" (opened on line 2)");
  EXPECT_EQ(refusal("a\n{{/vip}}"), "line 2: {{/vip}} closes no open section");
  EXPECT_EQ(refusal("a\nb {{name"), "line 2: a tag is not closed: end it with }}");
  EXPECT_EQ(refusal("a\nb {{name}\n}"), "line 2: a tag is not closed: end it with }}");
  EXPECT_EQ(refusal("a{{!\nmulti\nline\n}}b{{nope"), "line 4: a tag is not closed: end it with }}");
  EXPECT_EQ(refusal("{{! a comment {{name"), "line 1: a tag is not closed: end it with }}");
}

TEST(Template, InvalidUtf8) {
  EXPECT_EQ(refusal("ok\nok\nbad \xFF here"), "line 3: the text is not valid UTF-8");
  EXPECT_EQ(refusal("\xC3"), "line 1: the text is not valid UTF-8");
  EXPECT_EQ(refusal("{{name}}\n\xED\xA0\x80"), "line 2: the text is not valid UTF-8");
}

TEST(Template, Limits) {
  // 65536 bytes.
  std::string big(65536, 'x');
  EXPECT_TRUE(parse_template(big, kDeclared));
  big.push_back('x');
  EXPECT_EQ(refusal(big), "the template is longer than 65536 bytes");

  // 512 tags, comments and section ends counted.
  std::string tags;
  for (int i = 0; i < 128; ++i) tags += "{{#vip}}{{name}}{{! c }}{{/vip}}\n";
  auto tmpl = parse_template(tags, kDeclared);
  ASSERT_TRUE(tmpl) << tmpl.error().public_text();
  EXPECT_EQ(render(*tmpl, {{"vip", "1"}, {"name", "n"}}, Escape::text).size(), 128u * 2);
  EXPECT_EQ(refusal(tags + "{{name}}"), "line 129: more than 512 tags");

  // Sections nested 8 deep.
  std::string open, close;
  for (int i = 0; i < 8; ++i) {
    open += "{{#vip}}";
    close += "{{/vip}}";
  }
  EXPECT_EQ(rendered(open + "{{name}}" + close, {{"vip", "1"}, {"name", "deep"}}), "deep");
  EXPECT_EQ(refusal(open + "\n{{^vip}}" + "{{/vip}}" + close),
            "line 2: sections are nested deeper than 8");
}

}  // namespace
}  // namespace campaigns
