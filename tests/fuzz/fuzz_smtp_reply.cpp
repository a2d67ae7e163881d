// libFuzzer target: mail::smtp::parse_reply on bytes a remote SMTP server sends.
// Trust: the input is untrusted network bytes. Besides "no crash, no sanitizer report", it
// checks what the parser promises: a complete reply consumed no more than it was given and
// within the bounds, has a valid code and printable text, and parses the same when given
// exactly its own bytes; reading a buffer reply by reply (as the session does after a
// pipelined batch) always makes progress.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mail/smtp/outcome.hpp"
#include "mail/smtp/reply.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

void check_reply(std::string_view data, bool enhanced) {
  using mail::smtp::ReplyParse;
  const auto r = mail::smtp::parse_reply(data, enhanced);
  if (r.status != ReplyParse::Status::complete) {
    if (r.status == ReplyParse::Status::incomplete) {
      check(data.size() < mail::smtp::kMaxReplyBytes);
    }
    return;
  }
  check(r.consumed > 0 && r.consumed <= data.size());
  check(r.consumed <= mail::smtp::kMaxReplyBytes);
  check(data[r.consumed - 1] == '\n');
  check(r.reply.code >= 200 && r.reply.code <= 559);
  check(!r.reply.lines.empty() && r.reply.lines.size() <= mail::smtp::kMaxReplyLines);
  for (const auto& line : r.reply.lines) {
    for (char c : line) check(c >= 0x20 && c <= 0x7E);
  }
  if (r.reply.enhanced) {
    check(enhanced);
    check(r.reply.enhanced->klass == r.reply.klass());
  }
  const std::string text = r.reply.text();
  check(text.size() <= mail::smtp::kMaxReportedReplyText);
  // The same reply on its own parses the same.
  const auto again = mail::smtp::parse_reply(data.substr(0, r.consumed), enhanced);
  check(again.status == ReplyParse::Status::complete && again.consumed == r.consumed);
  check(again.reply.code == r.reply.code && again.reply.lines == r.reply.lines);
  // The mapping gives one of the three outcomes with a matching enhanced class.
  const auto status = mail::smtp::status_from_reply(mail::smtp::Stage::rcpt, r.reply);
  const char klass = status.outcome == mail::smtp::Outcome::delivered   ? '2'
                     : status.outcome == mail::smtp::Outcome::temporary ? '4'
                                                                        : '5';
  check(!status.enhanced.empty() && status.enhanced[0] == klass);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_reply(input, false);
  check_reply(input, true);
  // Reply after reply, as after a pipelined batch: each step consumes something.
  std::string_view rest = input;
  for (int i = 0; i < 1000 && !rest.empty(); ++i) {
    const auto r = mail::smtp::parse_reply(rest, true);
    if (r.status != mail::smtp::ReplyParse::Status::complete) break;
    check(r.consumed > 0);
    rest.remove_prefix(r.consumed);
  }
  return 0;
}
