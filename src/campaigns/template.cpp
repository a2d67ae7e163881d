#include "campaigns/template.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <set>

#include "core/encoding.hpp"

namespace campaigns {

namespace {

constexpr std::string_view kOpen = "{{";
constexpr std::string_view kClose = "}}";

std::string_view trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n";
  const auto first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
}

bool is_field_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || name[0] < 'a' || name[0] > 'z') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

core::Error refused(std::size_t line, std::string_view what) {
  return core::Error(core::ErrorKind::invalid_input, fmt::format("line {}: {}", line, what),
                     "template");
}

}  // namespace

class TemplateParser {
 public:
  static core::Result<Template> parse(std::string_view text,
                                      const std::vector<std::string>& declared) {
    if (text.size() > TemplateLimits::kMaxBytes) {
      return core::fail(
          core::ErrorKind::invalid_input,
          fmt::format("the template is longer than {} bytes", TemplateLimits::kMaxBytes),
          "template");
    }
    // Line by line, so the error can name the line: LF never splits a UTF-8 sequence.
    std::size_t line = 1;
    for (std::size_t start = 0; start <= text.size(); ++line) {
      const std::size_t end = std::min(text.find('\n', start), text.size());
      if (!core::is_valid_utf8(text.substr(start, end - start))) {
        return core::fail(refused(line, "the text is not valid UTF-8"));
      }
      start = end + 1;
    }

    Template tmpl;
    struct Open {
      std::string name;
      std::size_t part;
      std::size_t line;
    };
    std::vector<Open> open;
    std::size_t tags = 0;
    std::size_t pos = 0;
    line = 1;
    auto lines_in = [](std::string_view s) {
      return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
    };
    while (pos < text.size()) {
      const std::size_t tag_start = text.find(kOpen, pos);
      const std::string_view literal = text.substr(
          pos, tag_start == std::string_view::npos ? std::string_view::npos : tag_start - pos);
      if (!literal.empty()) {
        tmpl.parts_.push_back(
            Template::Part{.kind = Template::Part::Kind::text, .text = std::string(literal)});
        line += lines_in(literal);
      }
      if (tag_start == std::string_view::npos) break;
      const std::size_t tag_line = line;
      const std::size_t tag_end = text.find(kClose, tag_start + kOpen.size());
      if (tag_end == std::string_view::npos) {
        return core::fail(refused(tag_line, "a tag is not closed: end it with }}"));
      }
      if (++tags > TemplateLimits::kMaxTags) {
        return core::fail(
            refused(tag_line, fmt::format("more than {} tags", TemplateLimits::kMaxTags)));
      }
      const std::string_view content =
          text.substr(tag_start + kOpen.size(), tag_end - tag_start - kOpen.size());
      line += lines_in(content);
      pos = tag_end + kClose.size();

      const char sigil = content.empty() ? '\0' : content[0];
      if (sigil == '!') continue;  // a comment
      if (sigil == '{' || sigil == '&') {
        return core::fail(
            refused(tag_line, "unescaped output is not allowed: write {{name}}, which is escaped"));
      }
      if (sigil == '>') return core::fail(refused(tag_line, "partials ({{>...}}) are not allowed"));
      if (sigil == '=') {
        return core::fail(refused(tag_line, "changing the delimiters ({{=...=}}) is not allowed"));
      }
      const bool has_sigil = sigil == '#' || sigil == '^' || sigil == '/';
      const std::string_view name = trim(has_sigil ? content.substr(1) : content);
      if (name.empty()) return core::fail(refused(tag_line, "a tag has no field name"));
      if (!is_field_name(name)) {
        return core::fail(refused(tag_line,
                                  "a tag's name must be a field name: lower-case letters, "
                                  "digits and _, starting with a letter, at most 64"));
      }
      if (std::find(declared.begin(), declared.end(), name) == declared.end()) {
        return core::fail(refused(
            tag_line,
            fmt::format("field \"{}\" is not declared: add it to the campaign's fields", name)));
      }
      if (sigil == '#' || sigil == '^') {
        if (open.size() == TemplateLimits::kMaxNesting) {
          return core::fail(refused(tag_line, fmt::format("sections are nested deeper than {}",
                                                          TemplateLimits::kMaxNesting)));
        }
        open.push_back(Open{std::string(name), tmpl.parts_.size(), tag_line});
        tmpl.parts_.push_back(Template::Part{
            .kind = sigil == '#' ? Template::Part::Kind::section : Template::Part::Kind::inverted,
            .text = std::string(name)});
      } else if (sigil == '/') {
        if (open.empty()) {
          return core::fail(
              refused(tag_line, fmt::format("{{{{/{}}}}} closes no open section", name)));
        }
        if (open.back().name != name) {
          return core::fail(refused(
              tag_line, fmt::format("{{{{/{}}}}} does not close section \"{}\" (opened on line {})",
                                    name, open.back().name, open.back().line)));
        }
        tmpl.parts_[open.back().part].end = tmpl.parts_.size();
        open.pop_back();
        tmpl.parts_.push_back(
            Template::Part{.kind = Template::Part::Kind::end, .text = std::string(name)});
      } else {
        tmpl.parts_.push_back(
            Template::Part{.kind = Template::Part::Kind::value, .text = std::string(name)});
      }
    }
    if (!open.empty()) {
      return core::fail(
          refused(open.back().line, fmt::format("section \"{}\" is not closed: add {{{{/{}}}}}",
                                                open.back().name, open.back().name)));
    }
    return tmpl;
  }
};

core::Result<Template> parse_template(std::string_view text,
                                      const std::vector<std::string>& declared_fields) {
  return TemplateParser::parse(text, declared_fields);
}

std::vector<std::string> Template::fields() const {
  std::set<std::string> names;
  for (const Part& part : parts_) {
    if (part.kind != Part::Kind::text) names.insert(part.text);
  }
  return {names.begin(), names.end()};
}

namespace {

// The length of the valid UTF-8 sequence at the start of `s` (RFC 3629: no overlong forms,
// no surrogates, nothing above U+10FFFF), or 0; its code point in `cp`.
std::size_t utf8_sequence(std::string_view s, char32_t& cp) {
  const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char lead = b(0);
  std::size_t len = 0;
  char32_t min = 0;
  if (lead < 0x80) {
    cp = lead;
    return 1;
  } else if ((lead & 0xE0) == 0xC0) {
    len = 2, cp = lead & 0x1F, min = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    len = 3, cp = lead & 0x0F, min = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    len = 4, cp = lead & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (s.size() < len) return 0;
  for (std::size_t i = 1; i < len; ++i) {
    if ((b(i) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

void append_escaped(std::string& out, std::string_view value, Escape escape) {
  for (std::size_t i = 0; i < value.size();) {
    char32_t cp = 0;
    const std::size_t len = utf8_sequence(value.substr(i), cp);
    if (len == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
      continue;
    }
    const bool control = cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
    if (escape == Escape::html) {
      switch (cp) {
        case '&':
          out += "&amp;";
          break;
        case '<':
          out += "&lt;";
          break;
        case '>':
          out += "&gt;";
          break;
        case '"':
          out += "&quot;";
          break;
        case '\'':
          out += "&#39;";
          break;
        default:
          out.append(value.substr(i, len));
      }
    } else if (!control) {
      out.append(value.substr(i, len));
    } else if (escape == Escape::text) {
      if (cp == '\n' || cp == '\t') out.push_back(static_cast<char>(cp));
    } else if (cp == '\r' || cp == '\n' || cp == '\t') {
      out.push_back(' ');
    }
    i += len;
  }
}

}  // namespace

std::string render(const Template& tmpl,
                   const std::map<std::string, std::string, std::less<>>& values, Escape escape) {
  std::string out;
  const auto& parts = tmpl.parts_;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const Template::Part& part = parts[i];
    const auto it = part.kind == Template::Part::Kind::text ? values.end() : values.find(part.text);
    const bool present = it != values.end() && !it->second.empty();
    switch (part.kind) {
      case Template::Part::Kind::text:
        out += part.text;
        break;
      case Template::Part::Kind::value:
        if (it != values.end()) append_escaped(out, it->second, escape);
        break;
      case Template::Part::Kind::section:
        if (!present) i = part.end;
        break;
      case Template::Part::Kind::inverted:
        if (present) i = part.end;
        break;
      case Template::Part::Kind::end:
        break;
    }
  }
  return out;
}

}  // namespace campaigns
