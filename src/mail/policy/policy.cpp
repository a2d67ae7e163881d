#include "mail/policy/policy.hpp"

#include <algorithm>
#include <array>

namespace mail::policy {

namespace {

struct Shape {
  Requirement requirement;
  OnFailure on_failure;
};

Shape shape_of(Policy p) {
  switch (p) {
    case Policy::none:
    case Policy::opportunistic:
      return {Requirement::none, OnFailure::send_clear};
    case Policy::verify:
      return {Requirement::verified, OnFailure::defer};
    case Policy::exclusive:
      return {Requirement::encrypted, OnFailure::drop};
    case Policy::forced:
      return {Requirement::encrypted, OnFailure::fallback};
  }
  return {Requirement::verified, OnFailure::defer};  // unreachable: fail closed
}

// The named policy that has exactly this shape, or the nearest stricter one.
Policy name_of(Shape s) {
  switch (s.on_failure) {
    case OnFailure::fallback:
      return Policy::forced;
    case OnFailure::drop:
      return Policy::exclusive;
    case OnFailure::defer:
      return Policy::verify;
    case OnFailure::send_clear:
      return Policy::opportunistic;
  }
  return Policy::verify;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  });
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

}  // namespace

std::string_view policy_name(Policy p) {
  switch (p) {
    case Policy::none:
      return "none";
    case Policy::opportunistic:
      return "opportunistic";
    case Policy::verify:
      return "verify";
    case Policy::exclusive:
      return "exclusive";
    case Policy::forced:
      return "forced";
  }
  return "verify";
}

core::Result<Policy> parse_policy(std::string_view text) {
  for (auto p :
       {Policy::none, Policy::opportunistic, Policy::verify, Policy::exclusive, Policy::forced}) {
    if (policy_name(p) == text) return p;
  }
  return core::fail(core::ErrorKind::invalid_input,
                    "the security policy must be one of none, opportunistic, verify, exclusive, "
                    "forced");
}

std::string_view verification_name(Verification v) {
  switch (v) {
    case Verification::none:
      return "none";
    case Verification::ca:
      return "ca";
    case Verification::mta_sts:
      return "mta-sts";
    case Verification::dane:
      return "dane";
  }
  return "none";
}

bool mx_matches(std::string_view mx_host, const std::vector<std::string>& patterns) {
  const std::string host = lower(mx_host);
  for (const auto& raw : patterns) {
    const std::string pattern = lower(raw);
    if (pattern.empty()) continue;
    if (pattern.starts_with("*.")) {
      // Exactly one label in place of the star.
      const std::string_view suffix = std::string_view(pattern).substr(1);  // ".example.com"
      if (host.size() > suffix.size() && host.ends_with(suffix)) {
        const std::string_view label =
            std::string_view(host).substr(0, host.size() - suffix.size());
        if (!label.empty() && label.find('.') == std::string_view::npos) return true;
      }
    } else if (host == pattern) {
      return true;
    }
  }
  return false;
}

core::Result<Decision> decide(const Inputs& in) {
  const Policy domain = in.domain.value_or(in.default_policy);
  if (in.phi && (in.message == Policy::none || domain == Policy::none)) {
    return core::fail(core::ErrorKind::invalid_input,
                      "policy none is never used for a message marked as PHI");
  }
  const Shape a = shape_of(in.message);
  const Shape b = shape_of(domain);
  Shape s{std::max(a.requirement, b.requirement), std::max(a.on_failure, b.on_failure)};

  Decision d;
  std::vector<std::string> why;
  why.push_back(std::string("message ") + std::string(policy_name(in.message)));
  why.push_back(std::string(in.domain ? "domain " : "default ") + std::string(policy_name(domain)));

  // M4: once seen with TLS, never cleartext again (opportunistic and none alike: a PHI
  // message cannot be `none`, and a non-PHI one keeps the same protection).
  if (in.seen_tls && s.requirement == Requirement::none) {
    s.requirement = Requirement::encrypted;
    s.on_failure = std::max(s.on_failure, OnFailure::defer);
    why.push_back("seen with TLS before");
  }

  if (in.dane == Dane::bogus) {
    // Fail closed: no downgrade to an unverified connection, whatever the policy.
    s.requirement = Requirement::verified;
    s.on_failure = std::max(s.on_failure, OnFailure::defer);
    d.verify_by = Verification::dane;
    why.push_back("DNSSEC bogus");
  } else if (in.dane == Dane::usable) {
    s.requirement = Requirement::verified;
    s.on_failure = std::max(s.on_failure, OnFailure::defer);
    d.verify_by = Verification::dane;
    why.push_back("DANE");
  } else if (in.mta_sts && in.mta_sts->enforce) {
    s.requirement = Requirement::verified;
    s.on_failure = std::max(s.on_failure, OnFailure::defer);
    d.verify_by = Verification::mta_sts;
    d.name_patterns = in.mta_sts->mx_patterns;
    why.push_back("MTA-STS enforce");
  } else if (s.requirement == Requirement::verified) {
    d.verify_by = Verification::ca;
  }

  d.requirement = s.requirement;
  d.on_failure = s.on_failure;
  d.effective = name_of(s);
  if (in.message == Policy::none && domain == Policy::none &&
      s.on_failure == OnFailure::send_clear) {
    d.effective = Policy::none;
  }
  for (std::size_t i = 0; i < why.size(); ++i) {
    if (i) d.reason += "; ";
    d.reason += why[i];
  }
  return d;
}

}  // namespace mail::policy
