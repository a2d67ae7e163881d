#include "app/notices.hpp"

#include <fmt/format.h>

#include <ctime>

namespace app {

mail::queue::Outgoing submission_notice(const forms::FormDeclaration& form,
                                        const std::string& reference, const mail::Address& from,
                                        const std::string& portal_url, core::TimePoint at) {
  mail::queue::Outgoing out{.from = from};
  for (const auto& a : form.notify) {
    if (auto address = mail::Address::parse(a)) out.to.push_back(*address);
  }
  const std::time_t t = core::unix_seconds(at);
  std::tm tm{};
  gmtime_r(&t, &tm);
  const std::string when = fmt::format("{:04}-{:02}-{:02} {:02}:{:02} UTC", tm.tm_year + 1900,
                                       tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min);
  out.subject = fmt::format("New submission: {} ({})", form.title, reference);
  out.text_body = fmt::format(
      "A new submission to the form \"{}\" ({}) was received at {}.\n\n"
      "Reference: {}\n\n"
      "Read it in the portal, where it is decrypted on your own computer:\n{}\n\n"
      "This notice carries nothing of what was submitted.\n",
      form.title, form.id, when, reference, portal_url);
  out.extra_headers = {{"Auto-Submitted", "auto-generated"}};
  out.security = mail::policy::Policy::verify;
  out.phi = false;
  out.origin = "notify";
  return out;
}

}  // namespace app
