#include "mail/smtp/outcome.hpp"

#include <fmt/format.h>

namespace mail::smtp {

std::string_view outcome_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::delivered:
      return "delivered";
    case Outcome::temporary:
      return "temporary";
    case Outcome::permanent:
      return "permanent";
  }
  return "temporary";
}

std::string_view stage_name(Stage stage) {
  switch (stage) {
    case Stage::connect:
      return "connect";
    case Stage::greeting:
      return "greeting";
    case Stage::ehlo:
      return "ehlo";
    case Stage::helo:
      return "helo";
    case Stage::starttls:
      return "starttls";
    case Stage::tls_handshake:
      return "tls_handshake";
    case Stage::mail:
      return "mail";
    case Stage::rcpt:
      return "rcpt";
    case Stage::data:
      return "data";
    case Stage::data_end:
      return "data_end";
    case Stage::rset:
      return "rset";
    case Stage::quit:
      return "quit";
  }
  return "unknown";
}

Outcome outcome_of(Stage stage, int code) {
  const int klass = code / 100;
  if (klass == 2 || klass == 3) return Outcome::delivered;
  if (klass != 5) return Outcome::temporary;  // 4xx, and anything unknown
  switch (stage) {
    case Stage::connect:
    case Stage::greeting:
    case Stage::ehlo:
    case Stage::helo:
    case Stage::starttls:
    case Stage::tls_handshake:
    case Stage::rset:
    case Stage::quit:
      return Outcome::temporary;
    case Stage::rcpt:
      return code == 552 ? Outcome::temporary : Outcome::permanent;
    case Stage::mail:
    case Stage::data:
    case Stage::data_end:
      return Outcome::permanent;
  }
  return Outcome::temporary;
}

Status status_from_reply(Stage stage, const Reply& reply) {
  Status status;
  status.outcome = outcome_of(stage, reply.code);
  status.code = reply.code;
  status.stage = stage;
  status.from_server = true;
  status.text = reply.text(kMaxReportedReplyText);
  const int klass = status.outcome == Outcome::delivered   ? 2
                    : status.outcome == Outcome::temporary ? 4
                                                           : 5;
  if (reply.enhanced && reply.klass() != 3) {
    EnhancedCode e = *reply.enhanced;
    e.klass = klass;
    status.enhanced = e.str();
  } else {
    status.enhanced = fmt::format("{}.0.0", klass);
  }
  return status;
}

Status local_status(Stage stage, LocalFailure failure) {
  Status status;
  status.stage = stage;
  status.from_server = false;
  status.outcome = Outcome::temporary;
  auto set = [&](std::string_view enhanced, std::string_view text) {
    status.enhanced = enhanced;
    status.text = text;
    if (!enhanced.empty() && enhanced[0] == '5') status.outcome = Outcome::permanent;
  };
  switch (failure) {
    case LocalFailure::connect_failed:
      set("4.4.1", "cannot connect to the receiving server");
      break;
    case LocalFailure::connection_lost:
      set("4.4.2", "lost connection with the receiving server");
      break;
    case LocalFailure::timeout:
      set("4.4.2", "timed out waiting for the receiving server");
      break;
    case LocalFailure::protocol_error:
      set("4.5.0", "protocol error from the receiving server");
      break;
    case LocalFailure::tls_not_offered:
      set("4.7.4", "TLS is required, but the receiving server does not offer it");
      break;
    case LocalFailure::tls_failed:
      set("4.7.5", "TLS handshake with the receiving server failed");
      break;
    case LocalFailure::tls_unverified:
      set("4.7.5", "the receiving server's certificate could not be verified");
      break;
    case LocalFailure::message_too_big:
      set("5.3.4", "message larger than the receiving server accepts");
      break;
    case LocalFailure::eight_bit_unsupported:
      set("5.6.3", "8-bit message, and the receiving server does not offer 8BITMIME");
      break;
    case LocalFailure::smtputf8_unsupported:
      set("5.6.7", "the message needs SMTPUTF8, and the receiving server does not offer it");
      break;
    case LocalFailure::bad_sender:
      set("5.1.7", "invalid envelope sender");
      break;
    case LocalFailure::bad_recipient:
      set("5.1.3", "invalid recipient address");
      break;
    case LocalFailure::too_many_recipients:
      set("4.5.3", "too many recipients in one transaction");
      break;
    case LocalFailure::not_attempted:
      set("4.3.0", "delivery not attempted");
      break;
  }
  return status;
}

}  // namespace mail::smtp
