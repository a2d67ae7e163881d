#include "auth/email.hpp"

#include <cctype>

namespace auth {

core::Result<std::string> normalize_email(std::string_view email) {
  std::string out;
  for (char c : email)
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  auto at = out.find('@');
  bool ok = !out.empty() && out.size() <= kMaxEmailBytes && at != std::string::npos && at > 0 &&
            at + 1 < out.size() && out.find('@', at + 1) == std::string::npos &&
            out.find('.', at) != std::string::npos;
  for (char c : out) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '<' || c == '>' || c == '"' ||
        c == ',' || c == ';' || c == '\\') {
      ok = false;
    }
  }
  if (!ok) return core::fail(core::ErrorKind::invalid_input, "that is not an e-mail address");
  return out;
}

}  // namespace auth
