// Trust: untrusted network input (the replies of remote SMTP servers).
#include "mail/smtp/reply.hpp"

#include <fmt/format.h>

namespace mail::smtp {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// 1 to 3 digits at text[*pos], as a number.
std::optional<int> read_number(std::string_view text, std::size_t* pos) {
  std::size_t start = *pos;
  int value = 0;
  while (*pos < text.size() && is_digit(text[*pos]) && *pos - start < 3) {
    value = value * 10 + (text[*pos] - '0');
    ++*pos;
  }
  if (*pos == start) return std::nullopt;
  if (*pos < text.size() && is_digit(text[*pos])) return std::nullopt;  // 4 digits or more
  return value;
}

std::string sanitise(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\t') {
      out += ' ';
    } else if (u < 0x20 || u > 0x7E) {
      out += '?';
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string EnhancedCode::str() const { return fmt::format("{}.{}.{}", klass, subject, detail); }

std::optional<EnhancedCode> parse_enhanced_code(std::string_view text, std::size_t* length) {
  if (text.empty() || (text[0] != '2' && text[0] != '4' && text[0] != '5')) return std::nullopt;
  if (text.size() < 2 || text[1] != '.') return std::nullopt;
  EnhancedCode code;
  code.klass = text[0] - '0';
  std::size_t pos = 2;
  auto subject = read_number(text, &pos);
  if (!subject || pos >= text.size() || text[pos] != '.') return std::nullopt;
  ++pos;
  auto detail = read_number(text, &pos);
  if (!detail) return std::nullopt;
  if (pos < text.size()) {
    if (text[pos] != ' ') return std::nullopt;
    ++pos;
  }
  code.subject = *subject;
  code.detail = *detail;
  if (length != nullptr) *length = pos;
  return code;
}

std::string Reply::text(std::size_t max) const {
  std::string out;
  for (const auto& line : lines) {
    if (!out.empty()) out += ' ';
    out += line;
    if (out.size() >= max) break;
  }
  if (out.size() > max) out.resize(max);
  return out;
}

std::string_view reply_error_text(ReplyError error) {
  switch (error) {
    case ReplyError::line_too_long:
      return "reply line too long";
    case ReplyError::too_many_lines:
      return "reply has too many lines";
    case ReplyError::too_large:
      return "reply too large";
    case ReplyError::bad_code:
      return "malformed reply code";
    case ReplyError::inconsistent_code:
      return "reply lines with different codes";
    case ReplyError::bad_separator:
      return "malformed reply line";
  }
  return "malformed reply";
}

ReplyParse parse_reply(std::string_view data, bool enhanced_codes) {
  ReplyParse result;
  auto fail = [&](ReplyError error) {
    result.status = ReplyParse::Status::error;
    result.error = error;
    result.reply = {};
    return result;
  };
  std::size_t pos = 0;
  while (true) {
    const std::size_t end = data.find('\n', pos);
    if (end == std::string_view::npos) {
      // No line end yet: more may come, unless this line is already over the bound.
      if (data.size() - pos >= kMaxReplyLineBytes) return fail(ReplyError::line_too_long);
      if (data.size() >= kMaxReplyBytes) return fail(ReplyError::too_large);
      result.status = ReplyParse::Status::incomplete;
      result.reply = {};
      return result;
    }
    if (end + 1 - pos > kMaxReplyLineBytes) return fail(ReplyError::line_too_long);
    if (end + 1 > kMaxReplyBytes) return fail(ReplyError::too_large);
    if (result.reply.lines.size() >= kMaxReplyLines) return fail(ReplyError::too_many_lines);
    std::string_view line = data.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = end + 1;

    if (line.size() < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '5' ||
        !is_digit(line[2])) {
      return fail(ReplyError::bad_code);
    }
    const int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (result.reply.lines.empty()) {
      result.reply.code = code;
    } else if (code != result.reply.code) {
      return fail(ReplyError::inconsistent_code);
    }
    bool last;
    std::string_view text;
    if (line.size() == 3) {
      last = true;
    } else if (line[3] == ' ' || line[3] == '-') {
      last = line[3] == ' ';
      text = line.substr(4);
    } else {
      return fail(ReplyError::bad_separator);
    }
    if (enhanced_codes && code / 100 != 3) {
      std::size_t length = 0;
      auto enhanced = parse_enhanced_code(text, &length);
      // RFC 3463 §2: the class must be the reply's; a code that disagrees is not believed.
      if (enhanced && enhanced->klass == code / 100) {
        if (result.reply.lines.empty()) result.reply.enhanced = enhanced;
        text.remove_prefix(length);
      }
    }
    result.reply.lines.push_back(sanitise(text));
    if (last) {
      result.status = ReplyParse::Status::complete;
      result.consumed = pos;
      return result;
    }
  }
}

}  // namespace mail::smtp
