#include "mail/queue/bounce.hpp"

#include <fmt/format.h>

namespace mail::queue {
namespace {

// A remote's reply, quoted in the notice's text: printable ASCII only.
std::string printable(std::string text) {
  for (auto& ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x7F) ch = '?';
  }
  return text;
}

// The remote's reply as RFC 3464 quotes it: "550 5.1.1 text"; empty when no server replied.
std::string diagnostic_of(const store::MailAttempt& a) {
  if (a.code == 0) return {};
  std::string out = std::to_string(a.code);
  if (!a.enhanced.empty()) out += " " + a.enhanced;
  if (!a.reply.empty()) out += " " + a.reply;
  return out;
}

}  // namespace

core::Result<std::optional<Prepared>> prepare_bounce(const store::MailMessageRecord& original,
                                                     const std::vector<FailedRecipient>& failed,
                                                     const dkim::Signer& signer,
                                                     const core::SecretBytes& queue_key,
                                                     std::string_view hostname, core::TimePoint now,
                                                     core::Rng& rng) {
  if (original.sender.empty() || failed.empty()) return std::optional<Prepared>();
  auto to = Address::parse(original.sender);
  if (!to) {
    return core::fail(core::ErrorKind::invalid_input, "the sender cannot be written to",
                      to.error().detail());
  }
  auto from = Address::parse("MAILER-DAEMON@" + std::string(hostname));
  if (!from) return core::fail(from.error());
  auto policy = policy::parse_policy(original.security);
  if (!policy) return core::fail(policy.error());

  // The original's header, to be returned; the body is never opened beyond it.
  std::string header;
  if (auto body = open_body(original, queue_key); body) {
    const std::string_view bytes = body->as_string_view();
    if (const auto end = bytes.find("\r\n\r\n"); end != std::string_view::npos)
      header.assign(bytes.substr(0, end + 2));
  }

  mime::DeliveryReport report;
  report.reporting_mta = std::string(hostname);
  report.arrival_date = core::TimePoint(std::chrono::seconds(original.created_at));
  report.original_header = std::move(header);
  std::string lines;
  for (const auto& f : failed) {
    auto address = Address::parse(f.address);
    if (!address) continue;  // queued addresses were checked; a damaged row is skipped
    const auto& a = f.attempt;
    // A 5.x.x reply tells why; a permanent failure without one is 5.0.0; a recipient that
    // was still waiting when the message expired is 4.4.7 (RFC 3463: delivery time expired).
    std::string status = "4.4.7";
    if (a.enhanced.starts_with("5.")) {
      status = a.enhanced;
    } else if (a.code >= 500) {
      status = "5.0.0";
    }
    report.recipients.push_back({.final_recipient = *address,
                                 .status = status,
                                 .remote_mta = a.mx_host,
                                 .diagnostic = diagnostic_of(a),
                                 .last_attempt = core::TimePoint(std::chrono::seconds(a.at))});
    lines += fmt::format("  {}\n    {}\n", address->str(),
                         a.code != 0       ? printable(diagnostic_of(a))
                         : a.reply.empty() ? std::string("no reason was given")
                                           : printable(a.reply));
  }
  if (report.recipients.empty()) return std::optional<Prepared>();

  Outgoing out{.from = *from};
  out.from_name = "Mail Delivery System";
  out.to = {*to};
  out.subject = "Undelivered mail returned to sender";
  out.text_body = fmt::format(
      "This is the mail system at {}.\n\n"
      "Your message {} could not be delivered to the following recipient{}, and will not "
      "be tried again:\n\n{}\n"
      "The report for programs and the header of your message follow in this notice.\n",
      hostname, original.id, report.recipients.size() == 1 ? "" : "s", lines);
  out.extra_headers = {{"Auto-Submitted", "auto-replied"}};
  out.security = *policy;
  out.phi = original.phi;
  out.origin = "dsn";
  out.report = std::move(report);
  auto prepared = prepare(out, signer, queue_key, hostname, now, rng);
  if (!prepared) return core::fail(std::move(prepared).error());
  return std::optional<Prepared>(std::move(*prepared));
}

}  // namespace mail::queue
