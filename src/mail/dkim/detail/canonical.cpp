// Trust: any bytes (see canonical.hpp).
#include "mail/dkim/detail/canonical.hpp"

#include <algorithm>

namespace mail::dkim::detail {
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

core::Unexpected<core::Error> malformed(const char* why) {
  return core::fail(core::ErrorKind::invalid_input, "the message cannot be signed", why);
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

core::Result<SplitMessage> split_message(std::string_view message) {
  SplitMessage out;
  std::size_t pos = 0;
  while (pos < message.size()) {
    const std::size_t lf = message.find('\n', pos);
    if (lf == std::string_view::npos || lf == pos || message[lf - 1] != '\r')
      return malformed("a header line does not end in CRLF");
    const std::string_view line = message.substr(pos, lf - 1 - pos);
    if (line.find('\r') != std::string_view::npos) return malformed("a bare CR in the header");
    if (line.empty()) {
      out.body = message.substr(lf + 1);
      break;
    }
    if (is_wsp(line.front())) {
      if (out.fields.empty()) return malformed("a continuation line before the first field");
      auto& last = out.fields.back();
      last.raw = std::string_view(last.raw.data(), last.raw.size() + line.size() + 2);
    } else {
      const std::size_t colon = line.find(':');
      if (colon == std::string_view::npos) return malformed("a header line without a colon");
      std::string_view name = line.substr(0, colon);
      while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
      if (name.empty()) return malformed("a header field without a name");
      for (const char c : name) {
        // RFC 5322 ftext: printable ASCII except the colon.
        if (static_cast<unsigned char>(c) < 33 || static_cast<unsigned char>(c) > 126)
          return malformed("a header field name with a character outside ftext");
      }
      out.fields.push_back({name, message.substr(pos, line.size() + 2)});
    }
    pos = lf + 1;
  }
  // The body may hold anything, but DKIM's body canonicalisation is defined on CRLF lines.
  for (std::size_t i = 0; i < out.body.size(); ++i) {
    const char c = out.body[i];
    if (c == '\r' && (i + 1 >= out.body.size() || out.body[i + 1] != '\n'))
      return malformed("a bare CR in the body");
    if (c == '\n' && (i == 0 || out.body[i - 1] != '\r')) return malformed("a bare LF in the body");
  }
  return out;
}

std::string relaxed_header(std::string_view raw_field) {
  const std::size_t colon = raw_field.find(':');
  std::string out;
  out.reserve(raw_field.size());
  std::string_view name = raw_field.substr(0, colon);
  while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
  for (const char c : name) out += lower(c);
  out += ':';
  if (colon == std::string_view::npos) return out + "\r\n";
  // Unfold (drop CR and LF), then collapse WSP runs; leading and trailing WSP go.
  bool pending_space = false;
  bool started = false;
  for (const char c : raw_field.substr(colon + 1)) {
    if (c == '\r' || c == '\n') continue;
    if (is_wsp(c)) {
      pending_space = started;
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    started = true;
    out += c;
  }
  out += "\r\n";
  return out;
}

std::string relaxed_body(std::string_view body) {
  std::string out;
  out.reserve(body.size());
  std::size_t pos = 0;
  std::size_t keep = 0;  // out's size up to the last line that was not empty
  while (pos < body.size()) {
    std::size_t end = body.find("\r\n", pos);
    const bool terminated = end != std::string_view::npos;
    if (!terminated) end = body.size();
    const std::string_view line = body.substr(pos, end - pos);
    bool pending_space = false;
    bool any = false;
    for (const char c : line) {
      if (is_wsp(c)) {
        pending_space = true;
        continue;
      }
      if (pending_space) out += ' ';
      pending_space = false;
      any = true;
      out += c;
    }
    // A line of only WSP becomes empty (trailing WSP removed) and counts as empty.
    out += "\r\n";
    if (any) keep = out.size();
    pos = terminated ? end + 2 : body.size();
  }
  out.resize(keep);
  return out;
}

std::string relaxed_signed_headers(const std::vector<HeaderField>& fields,
                                   const std::vector<std::string>& signed_names) {
  std::vector<bool> used(fields.size(), false);
  std::string out;
  for (const auto& name : signed_names) {
    for (std::size_t i = fields.size(); i-- > 0;) {
      if (!used[i] && iequals(fields[i].name, name)) {
        used[i] = true;
        out += relaxed_header(fields[i].raw);
        break;
      }
    }
  }
  return out;
}

}  // namespace mail::dkim::detail
