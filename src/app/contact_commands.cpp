#include "app/contact_commands.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "app/cli_support.hpp"
#include "app/config.hpp"
#include "campaigns/contacts.hpp"
#include "campaigns/sender.hpp"
#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/rng.hpp"
#include "mail/queue/status.hpp"

namespace app {

namespace {

int fail_line(std::string_view message) {
  std::fprintf(stderr, "sealpost: %.*s\n", static_cast<int>(message.size()), message.data());
  return 1;
}

// Midnight UTC of YYYY-MM-DD.
core::Result<std::int64_t> day_of(const std::string& text, std::string_view option) {
  std::tm tm{};
  const char* end = ::strptime(text.c_str(), "%Y-%m-%d", &tm);
  if (end == nullptr || *end != '\0') {
    return core::fail(core::ErrorKind::invalid_input, fmt::format("{}: YYYY-MM-DD", option));
  }
  return static_cast<std::int64_t>(::timegm(&tm));
}

// The contact an address names, or a line saying why not.
core::Result<store::ContactRecord> contact_of(store::Store& store, const std::string& email) {
  auto address = campaigns::contact_address(email);
  if (!address) return core::fail(core::ErrorKind::invalid_input, "--email: not an e-mail address");
  auto found = store.contacts().find_contact_by_address_blocking(*address);
  if (!found) return core::fail(std::move(found).error());
  if (!*found) return core::fail(core::ErrorKind::not_found, "no contact with that address");
  return std::move(**found);
}

core::Status check_purpose(const Config& config, const std::string& purpose) {
  const auto& known = config.contacts.purposes;
  if (std::find(known.begin(), known.end(), purpose) != known.end()) return core::ok();
  std::string list;
  for (const auto& p : known) list += (list.empty() ? "" : ", ") + p;
  return core::fail(core::ErrorKind::invalid_input,
                    fmt::format("--purpose {}: not a purpose of [contacts] purposes ({})",
                                core::log_safe(purpose), list));
}

}  // namespace

int run_contact_import(const std::string& data_dir, const std::string& file,
                       const ContactGrantOptions& options) {
  DataDir dir(data_dir);
  auto config = load_config(dir);
  if (!config) return fail_line(config.error().public_text());
  core::SystemClock clock;
  const std::int64_t now = core::unix_seconds(clock.now());
  std::optional<store::ImportGrant> grant;
  if (!options.purpose.empty()) {
    if (auto s = check_purpose(*config, options.purpose); !s)
      return fail_line(s.error().public_text());
    if (options.consent_version.empty()) {
      return fail_line("--purpose needs --consent-version (the consent text's version)");
    }
    grant = store::ImportGrant{.purpose = options.purpose,
                               .scope = options.scope,
                               .evidence = options.evidence,
                               .consent_version = options.consent_version,
                               .granted_at = now,
                               .expires_at = std::nullopt};
    if (!options.granted_on.empty()) {
      auto day = day_of(options.granted_on, "--granted-on");
      if (!day) return fail_line(day.error().public_text());
      if (*day > now) return fail_line("--granted-on: a day in the future");
      grant->granted_at = *day;
    }
    if (!options.expires_on.empty()) {
      auto day = day_of(options.expires_on, "--expires-on");
      if (!day) return fail_line(day.error().public_text());
      if (*day <= grant->granted_at) return fail_line("--expires-on: after the grant");
      grant->expires_at = *day;
    }
  } else if (!options.consent_version.empty() || !options.expires_on.empty() ||
             !options.granted_on.empty() || !options.evidence.empty()) {
    return fail_line("--consent-version, --granted-on, --expires-on and --evidence need --purpose");
  }
  auto store = open_store(dir);
  if (!store) return fail_line(store.error().public_text());
  core::SystemRng rng;
  auto key = load_or_create_seal_key(dir.contacts_key(), rng);
  if (!key) return fail_line(key.error().public_text());
  if (auto s = claim_node_secret_blocking(**store, "contacts", dir.contacts_key(), *key, now); !s) {
    return fail_line(s.error().public_text());
  }
  auto audit = CliAudit::open(dir, **store);
  if (!audit) return fail_line(audit.error().public_text());
  auto report = campaigns::import_contacts_blocking(
      file, **store, (*audit)->auditor(), *key, rng, grant, cli_actor(), now,
      [](std::string_view phase, std::size_t rows) {
        std::fprintf(stderr, "%.*s %zu rows\n", static_cast<int>(phase.size()), phase.data(), rows);
      });
  if (!report) return fail_line(report.error().public_text());
  if (!report->applied) {
    for (const auto& e : report->errors) {
      std::fprintf(stderr, "line %zu%s%s: %s\n", e.line, e.column.empty() ? "" : ", column ",
                   e.column.c_str(), e.reason.c_str());
    }
    if (report->error_count > report->errors.size()) {
      std::fprintf(stderr, "... and %zu more\n", report->error_count - report->errors.size());
    }
    (*store)->close();
    return fail_line(fmt::format("{} of {} rows have problems; nothing was imported",
                                 report->error_count, report->rows));
  }
  if (auto f = (*audit)->finish(); !f) return fail_line(f.error().public_text());
  (*store)->close();
  std::printf("imported %zu rows: %zu added, %zu updated, %zu authorisations granted\n",
              report->rows, report->counts.added, report->counts.updated, report->counts.granted);
  return 0;
}

int run_contact_list(const std::string& data_dir) {
  DataDir dir(data_dir);
  auto store = open_store(dir);
  if (!store) return fail_line(store.error().public_text());
  auto count = (*store)->contacts().count_contacts_blocking();
  if (!count) return fail_line(count.error().public_text());
  core::SystemClock clock;
  auto purposes = (*store)->contacts().purpose_counts_blocking(core::unix_seconds(clock.now()));
  if (!purposes) return fail_line(purposes.error().public_text());
  std::printf("contacts %lld\n", static_cast<long long>(*count));
  for (const auto& p : *purposes) {
    std::printf("purpose %s: %lld authorised, %lld revoked\n", p.purpose.c_str(),
                static_cast<long long>(p.authorised), static_cast<long long>(p.revoked));
  }
  (*store)->close();
  return 0;
}

int run_contact_show(const std::string& data_dir, const std::string& email) {
  DataDir dir(data_dir);
  auto store = open_store(dir);
  if (!store) return fail_line(store.error().public_text());
  auto contact = contact_of(**store, email);
  if (!contact) return fail_line(contact.error().public_text());
  auto names = (*store)->contacts().field_names_blocking(contact->id);
  if (!names) return fail_line(names.error().public_text());
  auto auths = (*store)->contacts().list_authorisations_blocking(contact->id);
  if (!auths) return fail_line(auths.error().public_text());
  std::string fields;
  for (const auto& n : *names) fields += (fields.empty() ? "" : ", ") + n;
  std::printf("contact %s\n  added %s from %s\n  updated %s\n  fields %s\n", contact->id.c_str(),
              mail::queue::utc_time_text(contact->created_at).c_str(), contact->source.c_str(),
              mail::queue::utc_time_text(contact->updated_at).c_str(),
              fields.empty() ? "-" : fields.c_str());
  for (const auto& a : *auths) {
    std::string state = a.revoked_at
                            ? fmt::format("revoked {} ({})",
                                          mail::queue::utc_time_text(*a.revoked_at), a.revoked_via)
                        : a.expires_at ? "until " + mail::queue::utc_time_text(*a.expires_at)
                                       : std::string("until revoked");
    std::printf("authorisation %s: granted %s, %s, scope %s, consent %s, evidence %s\n",
                a.purpose.c_str(), mail::queue::utc_time_text(a.granted_at).c_str(), state.c_str(),
                core::log_safe(a.scope).c_str(), core::log_safe(a.consent_version).c_str(),
                core::log_safe(a.evidence).c_str());
  }
  (*store)->close();
  return 0;
}

int run_contact_revoke(const std::string& data_dir, const std::string& email,
                       const std::string& purpose) {
  DataDir dir(data_dir);
  auto config = load_config(dir);
  if (!config) return fail_line(config.error().public_text());
  if (auto s = check_purpose(*config, purpose); !s) return fail_line(s.error().public_text());
  auto store = open_store(dir);
  if (!store) return fail_line(store.error().public_text());
  auto contact = contact_of(**store, email);
  if (!contact) return fail_line(contact.error().public_text());
  auto audit = CliAudit::open(dir, **store);
  if (!audit) return fail_line(audit.error().public_text());
  core::SystemClock clock;
  std::size_t revoked = 0;
  auto s = (*audit)->change(
      "revoke authorisation", "authorisation.revoke",
      [&](store::Store& tx) -> core::Result<std::string> {
        const std::int64_t now = core::unix_seconds(clock.now());
        auto n = tx.contacts().revoke_authorisations_blocking(contact->id, purpose, "cli", now);
        if (!n) return core::fail(n.error());
        revoked = *n;
        auto withdrawn = campaigns::withdraw_queued_in(tx, contact->id, purpose, now);
        if (!withdrawn) return core::fail(withdrawn.error());
        return fmt::format("contact:{} purpose:{} via:cli revoked:{} withdrawn:{}", contact->id,
                           purpose, revoked, *withdrawn);
      });
  if (!s) return fail_line(s.error().public_text());
  if (auto f = (*audit)->finish(); !f) return fail_line(f.error().public_text());
  (*store)->close();
  std::printf("revoked %zu %s authorisation(s)\n", revoked, purpose.c_str());
  return 0;
}

}  // namespace app
