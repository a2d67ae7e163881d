#include "app/notices.hpp"

#include <fmt/format.h>

#include <ctime>

namespace app {

mail::queue::Outgoing submission_notice(const forms::FormDeclaration& form,
                                        const std::string& reference, const mail::Address& from,
                                        const std::string& portal_url, core::TimePoint at,
                                        const std::vector<std::uint8_t>* stored,
                                        const core::SecretBytes* answers) {
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
  const bool attached = form.notify_mode == forms::NotifyMode::pgp && stored != nullptr;
  const bool carried = form.notify_mode == forms::NotifyMode::smime && answers != nullptr;
  const std::string file_name = "submission-" + reference + ".pgp";
  out.text_body = fmt::format(
      "A new submission to the form \"{}\" ({}) was received at {}.\n\n"
      "Reference: {}\n\n"
      "Read it in the portal, where it is decrypted on your own computer:\n{}\n\n{}",
      form.title, form.id, when, reference, portal_url,
      attached  ? fmt::format("It is also attached ({}), signed by this server and encrypted to "
                               "the form's recipients' OpenPGP keys: open it with your key (gpg "
                               "--decrypt, or your mail program's Decrypt and Open).\n",
                              file_name)
      : carried ? std::string("This message is encrypted to your S/MIME certificate; what was "
                              "submitted follows.\n\n")
                : std::string("This notice carries nothing of what was submitted.\n"));
  if (carried) out.text_body.append(answers->as_string_view());
  out.extra_headers = {{"Auto-Submitted", "auto-generated"}};
  out.security = mail::policy::Policy::verify;
  // The attachment, or the text, is the submission: the rules for PHI apply to the message.
  out.phi = attached || carried;
  if (carried) {
    out.encrypt = true;
    out.method = mail::secure::Method::smime;
  }
  if (attached) {
    out.attachment = mail::mime::Attachment{.file_name = file_name,
                                            .content_type = "application/octet-stream",
                                            .bytes = std::string(stored->begin(), stored->end())};
  }
  out.origin = "notify";
  return out;
}

}  // namespace app
