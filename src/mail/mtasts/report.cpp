#include "mail/mtasts/report.hpp"

namespace mail::mtasts {

namespace {

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

}  // namespace

std::string AttemptNote::verified(std::string base) const {
  if (verified_suffix.empty()) return base;
  return (base.empty() ? std::string("none") : base) + verified_suffix;
}

std::string_view tls_result_type(const smtp::Status& status, const smtp::TlsRecord& tls) {
  if (tls.failure.empty() && status.enhanced != "4.7.4") return "";
  // The texts are mail/smtp's own (session.cpp, detail/tls_client.cpp); one it does not
  // know falls to the general validation-failure.
  if (status.enhanced == "4.7.4" ||
      (!tls.tls && (contains(tls.failure, "STARTTLS") || contains(tls.failure, "EHLO refused")))) {
    return "starttls-not-supported";
  }
  if (contains(tls.failure, "certificate not trusted")) {
    return contains(tls.failure, "expired") ? "certificate-expired" : "certificate-not-trusted";
  }
  if (contains(tls.failure, "no peer certificate")) return "certificate-not-trusted";
  if (contains(tls.failure, "matches none of the acceptable names")) {
    return "certificate-host-mismatch";
  }
  return "validation-failure";
}

AttemptNote note_attempt(const Applied& sts, std::string_view mx_host, const smtp::Status& status,
                         const smtp::TlsRecord& tls, bool no_mx_allowed) {
  AttemptNote note;
  if (!sts.policy) {
    if (sts.failure != FetchFailure::none) {
      note.id = sts.id;
      note.failure = std::string(failure_name(sts.failure));
    }
    return note;
  }
  note.mode = std::string(mode_name(sts.policy->mode));
  note.id = sts.id;
  if (sts.policy->mode == Mode::testing) note.verified_suffix = " (mta-sts testing)";
  if (no_mx_allowed || (!mx_host.empty() && !policy::mx_matches(mx_host, sts.policy->mx))) {
    // RFC 8460 has no type of its own for an MX host outside the policy.
    note.failure = "validation-failure";
  } else {
    note.failure = std::string(tls_result_type(status, tls));
  }
  return note;
}

}  // namespace mail::mtasts
