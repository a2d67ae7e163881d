// libFuzzer target: the SMTP submission server's command parser (mail::submission
// parse_command, parse_mail_from, parse_rcpt_to).
// Trust: the input is untrusted network bytes (any client, before it authenticates). Besides
// "no crash, no sanitizer report", it checks what the parser promises: a line is accepted
// only within kMaxCommandLineBytes and without control or non-ASCII bytes; an accepted path
// is non-empty, bounded and free of control bytes and angle brackets.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mail/submission/command.hpp"
#include "mail/submission/limits.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

void check_path(std::string_view path) {
  check(!path.empty() && path.size() <= 256);
  for (const char ch : path) {
    const auto c = static_cast<unsigned char>(ch);
    check(c >= 0x20 && c != 0x7f && c != '<' && c != '>');
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // Each line of the input is one command, as a session would see them.
  while (!input.empty()) {
    const auto eol = input.find("\r\n");
    const std::string_view line = input.substr(0, eol);
    input = eol == std::string_view::npos ? std::string_view{} : input.substr(eol + 2);
    const auto command = mail::submission::parse_command(line);
    if (!command) continue;
    check(!line.empty() && line.size() <= mail::submission::kMaxCommandLineBytes);
    for (const char ch : line) {
      const auto c = static_cast<unsigned char>(ch);
      check(c >= 0x20 && c < 0x7f);
    }
    check(command->argument.size() < line.size());
    if (command->verb == mail::submission::Verb::mail) {
      if (auto m = mail::submission::parse_mail_from(command->argument)) check_path(m->address);
    } else if (command->verb == mail::submission::Verb::rcpt) {
      if (auto r = mail::submission::parse_rcpt_to(command->argument)) check_path(*r);
    }
  }
  return 0;
}
