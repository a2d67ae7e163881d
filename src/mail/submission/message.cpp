// Trust: untrusted network input (an authenticated client, but any bytes).
#include "mail/submission/message.hpp"

#include <cstdint>

#include "core/encoding.hpp"
#include "core/secret.hpp"
#include "mail/mime/limits.hpp"
#include "mail/submission/limits.hpp"

namespace mail::submission {

namespace {

using core::Unexpected;

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowered(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = lower(c);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// C0 controls (tab and line ends allowed when `text`), DEL, C1 controls in UTF-8.
bool has_control(std::string_view s, bool text) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (text && (c == '\t' || c == '\r' || c == '\n')) continue;
    if (c < 0x20 || c == 0x7f) return true;
    if (c == 0xc2 && i + 1 < s.size()) {
      const auto n = static_cast<unsigned char>(s[i + 1]);
      if (n >= 0x80 && n <= 0x9f) return true;
    }
  }
  return false;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// The text of one RFC 2047 encoded-word's payload; nullopt when it is not well-formed.
std::optional<std::string> decode_word(char encoding, std::string_view text) {
  std::string out;
  if (encoding == 'q' || encoding == 'Q') {
    for (std::size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '_') {
        out.push_back(' ');
      } else if (text[i] == '=') {
        if (i + 2 >= text.size()) return std::nullopt;
        const int hi = hex_value(text[i + 1]), lo = hex_value(text[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
      } else {
        out.push_back(text[i]);
      }
    }
    return out;
  }
  if (encoding == 'b' || encoding == 'B') {
    std::uint32_t acc = 0;
    int bits = 0;
    for (const char c : text) {
      if (c == '=') break;
      const int v = base64_value(c);
      if (v < 0) return std::nullopt;
      acc = (acc << 6) | static_cast<std::uint32_t>(v);
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out.push_back(static_cast<char>((acc >> bits) & 0xff));
      }
    }
    return out;
  }
  return std::nullopt;
}

// RFC 2047 §6: encoded-words (UTF-8 or US-ASCII only) decoded, white space between two
// adjacent ones dropped; anything that is not a well-formed encoded-word stays as written.
std::string decode_words(std::string_view value) {
  std::string out;
  std::size_t pending_space_from = std::string::npos;  // white space after an encoded-word
  std::size_t i = 0;
  while (i < value.size()) {
    if (value[i] == '=' && i + 1 < value.size() && value[i + 1] == '?') {
      // =?charset?e?text?=
      const auto q1 = value.find('?', i + 2);
      const auto q2 = q1 == std::string_view::npos ? q1 : value.find('?', q1 + 1);
      const auto end = q2 == std::string_view::npos ? q2 : value.find("?=", q2 + 1);
      if (end != std::string_view::npos && q2 == q1 + 2) {
        std::string charset = lowered(value.substr(i + 2, q1 - i - 2));
        if (auto star = charset.find('*'); star != std::string::npos) charset.resize(star);
        const auto decoded = decode_word(value[q1 + 1], value.substr(q2 + 1, end - q2 - 1));
        if ((charset == "utf-8" || charset == "us-ascii") && decoded) {
          if (pending_space_from != std::string::npos) out.resize(pending_space_from);
          out += *decoded;
          i = end + 2;
          pending_space_from = out.size();
          continue;
        }
      }
    }
    if (!is_space(value[i])) pending_space_from = std::string::npos;
    out.push_back(value[i]);
    ++i;
  }
  return out;
}

struct Field {
  std::string name;  // lower case
  std::string value;
};

// The header's fields, unfolded. nullopt for a malformed header.
std::optional<std::vector<Field>> parse_header(std::string_view header) {
  if (header.size() > kMaxHeaderBytes) return std::nullopt;
  std::vector<Field> fields;
  while (!header.empty()) {
    const auto eol = header.find("\r\n");
    const std::string_view line = header.substr(0, eol);
    header = eol == std::string_view::npos ? std::string_view{} : header.substr(eol + 2);
    if (!line.empty() && is_space(line.front())) {
      if (fields.empty()) return std::nullopt;
      fields.back().value += line;  // unfolding: the CRLF goes, the white space stays
      continue;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    const std::string_view name = line.substr(0, colon);
    for (const char c : name) {
      if (c <= 32 || c >= 127) return std::nullopt;
    }
    if (fields.size() == kMaxHeaderFields) return std::nullopt;
    fields.push_back(Field{lowered(name), std::string(line.substr(colon + 1))});
  }
  for (auto& f : fields) {
    // RFC 5322 §2.2.3: folding white space is a space or a tab; a tab is kept as a space.
    for (auto& c : f.value) {
      if (c == '\t') c = ' ';
    }
    f.value = std::string(trim(f.value));
    if (!core::is_valid_utf8(f.value) || has_control(f.value, false)) return std::nullopt;
  }
  return fields;
}

struct Mailbox {
  Address address;
  std::optional<std::string> name;
};

// `Name <addr>`, `"Name" <addr>`, `<addr>` or `addr`.
std::optional<Mailbox> parse_mailbox(std::string_view item) {
  item = trim(item);
  const auto open = item.rfind('<');
  std::string_view addr = item;
  std::optional<std::string> name;
  if (open != std::string_view::npos) {
    const auto close = item.find('>', open);
    if (close == std::string_view::npos || !trim(item.substr(close + 1)).empty()) {
      return std::nullopt;
    }
    addr = item.substr(open + 1, close - open - 1);
    std::string_view display = trim(item.substr(0, open));
    std::string unquoted;
    if (display.size() >= 2 && display.front() == '"' && display.back() == '"') {
      display = display.substr(1, display.size() - 2);
      for (std::size_t i = 0; i < display.size(); ++i) {
        if (display[i] == '\\' && i + 1 < display.size())
          ++i;
        else if (display[i] == '"')
          return std::nullopt;
        unquoted.push_back(display[i]);
      }
    } else {
      for (const char c : display) {
        if (c == '"' || c == '(' || c == ')' || c == '<' || c == '>' || c == ':' || c == ';' ||
            c == '@' || c == ',') {
          return std::nullopt;
        }
      }
      unquoted = decode_words(display);
    }
    if (!unquoted.empty()) {
      if (unquoted.size() > mime::kMaxDisplayNameBytes || !core::is_valid_utf8(unquoted) ||
          has_control(unquoted, false)) {
        return std::nullopt;
      }
      name = std::move(unquoted);
    }
  }
  auto address = Address::parse(addr);
  if (!address) return std::nullopt;
  return Mailbox{std::move(*address), std::move(name)};
}

// A comma-separated list of mailboxes (commas inside quotes or angle brackets are text).
std::optional<std::vector<Mailbox>> parse_mailbox_list(std::string_view value) {
  std::vector<Mailbox> out;
  bool quoted = false, angle = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= value.size(); ++i) {
    const char c = i < value.size() ? value[i] : ',';
    if (quoted) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        quoted = false;
      continue;
    }
    if (c == '"')
      quoted = true;
    else if (c == '<')
      angle = true;
    else if (c == '>')
      angle = false;
    else if (c == ',' && !angle) {
      const std::string_view item = trim(value.substr(start, i - start));
      start = i + 1;
      if (item.empty()) continue;  // "a@x, , b@y" and a trailing comma are tolerated
      auto mailbox = parse_mailbox(item);
      if (!mailbox) return std::nullopt;
      if (out.size() == mime::kMaxRecipients) return std::nullopt;
      out.push_back(std::move(*mailbox));
    }
  }
  if (quoted || angle) return std::nullopt;
  return out;
}

// Quoted-printable (RFC 2045 §6.7): soft line breaks and =XX; nullopt for a bad escape.
std::optional<std::string> decode_quoted_printable(std::string_view body) {
  std::string out;
  out.reserve(body.size());
  for (std::size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c != '=') {
      out.push_back(c);
      continue;
    }
    if (body.substr(i + 1, 2) == "\r\n") {
      i += 2;
      continue;
    }
    if (i + 2 >= body.size()) return std::nullopt;
    const int hi = hex_value(body[i + 1]), lo = hex_value(body[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

}  // namespace

std::string_view describe(MessageError error) {
  switch (error) {
    case MessageError::header:
      return "The message header is malformed";
    case MessageError::from:
      return "The message needs exactly one From mailbox";
    case MessageError::recipients:
      return "A To or Cc header is not a list of valid mailboxes";
    case MessageError::subject:
      return "The Subject header is not one line of UTF-8 text";
    case MessageError::content_type:
      return "Only a text/plain body in UTF-8 or US-ASCII is accepted (no HTML, no "
             "attachments)";
    case MessageError::encoding:
      return "The body's transfer encoding or its bytes are not accepted";
  }
  return "The message is not accepted";
}

core::Expected<IncomingMessage, MessageError> parse_message(std::string_view bytes) {
  std::string_view header, body;
  if (bytes.starts_with("\r\n")) {
    body = bytes.substr(2);
  } else if (const auto end = bytes.find("\r\n\r\n"); end != std::string_view::npos) {
    header = bytes.substr(0, end + 2);
    body = bytes.substr(end + 4);
  } else {
    header = bytes;
  }
  if (header.ends_with("\r\n")) header.remove_suffix(2);
  auto fields = parse_header(header);
  if (!fields) return Unexpected<MessageError>(MessageError::header);

  IncomingMessage out{.from = *Address::parse("nobody@invalid.example")};
  bool seen_from = false, seen_to = false, seen_cc = false, seen_subject = false;
  bool seen_type = false, seen_encoding = false;
  std::string charset = "us-ascii", encoding = "7bit";
  for (const auto& f : *fields) {
    if (f.name == "from") {
      if (seen_from) return Unexpected<MessageError>(MessageError::from);
      seen_from = true;
      auto list = parse_mailbox_list(f.value);
      if (!list || list->size() != 1) return Unexpected<MessageError>(MessageError::from);
      out.from = std::move(list->front().address);
      out.from_name = std::move(list->front().name);
    } else if (f.name == "to" || f.name == "cc") {
      bool& seen = f.name == "to" ? seen_to : seen_cc;
      if (seen) return Unexpected<MessageError>(MessageError::recipients);
      seen = true;
      auto list = parse_mailbox_list(f.value);
      if (!list) return Unexpected<MessageError>(MessageError::recipients);
      auto& into = f.name == "to" ? out.to : out.cc;
      for (auto& m : *list) into.push_back(std::move(m.address));
    } else if (f.name == "subject") {
      if (seen_subject) return Unexpected<MessageError>(MessageError::subject);
      seen_subject = true;
      out.subject = decode_words(f.value);
      if (out.subject.size() > mime::kMaxSubjectBytes || !core::is_valid_utf8(out.subject) ||
          has_control(out.subject, false)) {
        return Unexpected<MessageError>(MessageError::subject);
      }
    } else if (f.name == "content-type") {
      if (seen_type) return Unexpected<MessageError>(MessageError::content_type);
      seen_type = true;
      std::string_view v = f.value;
      const auto semi = v.find(';');
      if (lowered(trim(v.substr(0, semi))) != "text/plain") {
        return Unexpected<MessageError>(MessageError::content_type);
      }
      std::string_view params = semi == std::string_view::npos ? "" : v.substr(semi + 1);
      while (!params.empty()) {
        const auto next = params.find(';');
        const std::string_view param = trim(params.substr(0, next));
        params = next == std::string_view::npos ? "" : params.substr(next + 1);
        const auto eq = param.find('=');
        if (eq == std::string_view::npos) continue;
        if (!iequals(trim(param.substr(0, eq)), "charset")) continue;
        std::string_view value = trim(param.substr(eq + 1));
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
          value = value.substr(1, value.size() - 2);
        }
        charset = lowered(value);
      }
    } else if (f.name == "content-transfer-encoding") {
      if (seen_encoding) return Unexpected<MessageError>(MessageError::encoding);
      seen_encoding = true;
      encoding = lowered(f.value);
    }
  }
  if (!seen_from) return Unexpected<MessageError>(MessageError::from);
  if (charset != "us-ascii" && charset != "utf-8") {
    return Unexpected<MessageError>(MessageError::content_type);
  }
  if (encoding == "7bit" || encoding == "8bit") {
    out.text = std::string(body);
  } else if (encoding == "quoted-printable") {
    auto decoded = decode_quoted_printable(body);
    if (!decoded) return Unexpected<MessageError>(MessageError::encoding);
    out.text = std::move(*decoded);
  } else {
    return Unexpected<MessageError>(MessageError::encoding);
  }
  if (out.text.size() > mime::kMaxBodyBytes || !core::is_valid_utf8(out.text) ||
      has_control(out.text, true)) {
    core::secure_wipe(out.text.data(), out.text.size());
    return Unexpected<MessageError>(MessageError::encoding);
  }
  return out;
}

bool take_marker(std::string& subject, std::string_view marker) {
  if (marker.empty() || subject.size() < marker.size()) return false;
  for (std::size_t i = 0; i + marker.size() <= subject.size(); ++i) {
    if (!iequals(std::string_view(subject).substr(i, marker.size()), marker)) continue;
    const std::size_t after = i + marker.size();
    if (after < subject.size() && !is_space(subject[after])) continue;
    std::size_t from = i, to = after;
    while (to < subject.size() && is_space(subject[to])) ++to;
    if (to == subject.size()) {
      while (from > 0 && is_space(subject[from - 1])) --from;
    }
    subject.erase(from, to - from);
    return true;
  }
  return false;
}

}  // namespace mail::submission
