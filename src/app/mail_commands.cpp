// The outbound mail commands (issue 8). Trust: the operator's arguments and files; the
// message body is read from a file and never printed or logged.
#include "app/mail_commands.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>

#include "app/cli_support.hpp"
#include "app/commands.hpp"
#include "app/config.hpp"
#include "app/files.hpp"
#include "auth/email.hpp"
#include "core/log.hpp"
#include "core/rng.hpp"
#include "mail/dkim/key_files.hpp"
#include "mail/dkim/record.hpp"
#include "mail/dkim/signer.hpp"
#include "mail/dns/resolver.hpp"
#include "mail/mime/limits.hpp"
#include "mail/queue/compose.hpp"
#include "mail/queue/outbox.hpp"
#include "mail/queue/probe.hpp"
#include "mail/queue/status.hpp"
#include "mail/queue/tls_report.hpp"
#include "mail/secure/sealer.hpp"
#include "portal/portal.hpp"

namespace app {

std::string mail_hostname(const Config& config) {
  if (!config.mail.hostname.empty()) return config.mail.hostname;
  std::string origin = config.public_origin;
  if (auto p = origin.find("://"); p != std::string::npos) origin = origin.substr(p + 3);
  origin = origin.substr(0, origin.find_first_of(":/"));
  if (!origin.empty()) return origin;
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) == 0 && name[0] != '\0') return name;
  return "localhost";
}

mail::dns::ResolverOptions resolver_options(const Config& config) {
  mail::dns::ResolverOptions options;
  if (!config.mail.resolver.empty()) options.resolver = config.mail.resolver;
  options.trust_anchor_file = config.mail.trust_anchor_file;
  options.timeout = config.mail.dns_timeout;
  return options;
}

core::Status check_notify_tls(const Config& config, const std::vector<std::string>& addresses) {
  std::vector<std::string> domains;
  for (const auto& a : addresses) {
    auto address = mail::Address::parse(a);
    if (!address) return core::fail(address.error());
    const std::string domain = address->domain();
    if (std::find(domains.begin(), domains.end(), domain) == domains.end())
      domains.push_back(domain);
  }
  if (domains.empty()) return core::ok();
  auto resolver = mail::dns::Resolver::create(resolver_options(config));
  if (!resolver) return core::fail(resolver.error());
  mail::queue::ProbeOptions options;
  options.ehlo_name = mail_hostname(config);
  options.remote_port = config.mail.remote_port;
  options.ca_file = config.mail.ca_file;
  // A command waits for the probe: a receiver gets a minute per step, not delivery's five.
  options.timeouts.greeting = options.timeouts.command = options.timeouts.tls_handshake =
      std::chrono::seconds(60);
  for (const auto& domain : domains) {
    auto probe = mail::queue::probe_tls_blocking(**resolver, options, domain);
    if (!probe) {
      return core::fail(core::ErrorKind::invalid_input,
                        "notify: " + probe.error().public_text() +
                            "; notices go only to domains that do TLS (M9)");
    }
    std::printf("notify: %s passes TLS (%s [%s], %s, certificate verified: %s)\n",
                core::log_safe(domain).c_str(), core::log_safe(probe->mx_host).c_str(),
                probe->ip.c_str(), probe->version.c_str(), probe->verified.c_str());
  }
  return core::ok();
}

core::Result<SmimeSetup> load_smime_setup(const Config& config) {
  // A CA bundle of a few hundred certificates; a certificate or key of a few KiB.
  constexpr std::size_t kMaxCaBytes = 4 << 20;
  SmimeSetup setup;
  if (!config.mail.smime_ca_file.empty()) {
    auto ca = read_file(config.mail.smime_ca_file, kMaxCaBytes);
    if (!ca) {
      return core::fail(ca.error().kind(), "[mail] smime_ca_file: " + ca.error().public_text());
    }
    setup.ca_pem = std::move(*ca);
  }
  if (config.mail.smime_cert_file.empty() && config.mail.smime_key_file.empty()) return setup;
  if (config.mail.smime_cert_file.empty() || config.mail.smime_key_file.empty()) {
    return core::fail(core::ErrorKind::invalid_input,
                      "[mail] smime_cert_file and smime_key_file are set together");
  }
  auto cert = read_file(config.mail.smime_cert_file, crypto::kMaxCertFileBytes);
  if (!cert) {
    return core::fail(cert.error().kind(), "[mail] smime_cert_file: " + cert.error().public_text());
  }
  auto key = read_secret_file(config.mail.smime_key_file, crypto::kMaxCertFileBytes);
  if (!key) {
    return core::fail(key.error().kind(), "[mail] smime_key_file: " + key.error().public_text());
  }
  setup.signer = crypto::SmimeSigner{.cert_pem = std::move(*cert), .key_pem = std::move(*key)};
  if (auto ok = crypto::check_smime_signer(*setup.signer); !ok) return core::fail(ok.error());
  return setup;
}

core::Result<mail::dkim::Signer> load_mail_signer(const DataDir& dir, const Config& config) {
  if (config.mail.dkim_selector.empty()) {
    return core::fail(core::ErrorKind::invalid_input,
                      "[mail] dkim_selector is not set: every message is DKIM-signed; run "
                      "`sealpost dkim init` and set [mail] dkim_selector in sealpost.toml");
  }
  std::string domain = config.mail.dkim_domain;
  if (domain.empty()) {
    auto sender = mail::Address::parse(config.mail.default_sender);
    if (!sender) {
      return core::fail(core::ErrorKind::invalid_input,
                        "[mail] dkim_domain is not set and default_sender has no domain");
    }
    domain = sender->domain();
  }
  return mail::dkim::load_signer_blocking(dir.secrets_dir(), domain, config.mail.dkim_selector);
}

int run_dkim_init(const std::string& data_dir, const std::string& domain,
                  const std::string& selector, const std::string& algorithm) {
  DataDir dir(data_dir);
  auto config = load_config(dir);
  if (!config) return fail_line(config.error().public_text());
  auto normal = mail::mime::normalize_domain(domain);
  if (!normal) return fail_line("--domain: " + normal.error().public_text());
  mail::dkim::Algorithm alg;
  if (algorithm == "ed25519") {
    alg = mail::dkim::Algorithm::ed25519_sha256;
  } else if (algorithm == "rsa") {
    alg = mail::dkim::Algorithm::rsa_sha256;
  } else {
    return fail_line("--algorithm must be ed25519 or rsa");
  }
  auto keys = mail::dkim::init_keys_blocking(dir.secrets_dir(), selector, alg);
  if (!keys) return fail_line(keys.error().public_text());
  std::printf("DKIM keys for %s written to %s. Publish these TXT records:\n\n", normal->c_str(),
              dir.secrets_dir().c_str());
  for (const auto& k : *keys) {
    std::printf("%s. IN TXT %s\n", mail::dkim::record_name(k.selector, *normal).c_str(),
                mail::dkim::dns_record_zone_strings(k.record).c_str());
  }
  std::printf(
      "\nThen set in sealpost.toml:\n\n[mail]\ndkim_selector = \"%s\"\ndkim_domain = \"%s\"\n",
      selector.c_str(), normal->c_str());
  return 0;
}

int run_mail_send(const std::string& data_dir, const SendRequest& request) {
  DataDir dir(data_dir);
  auto config = load_config(dir);
  if (!config) return fail_line(config.error().public_text());

  auto from =
      mail::Address::parse(request.from.empty() ? config->mail.default_sender : request.from);
  if (!from) {
    return fail_line(request.from.empty()
                         ? "no --from and no [mail] default_sender in sealpost.toml"
                         : "--from: " + from.error().public_text());
  }
  mail::queue::Outgoing out{.from = *from};
  for (const auto& t : request.to) {
    auto to = mail::Address::parse(t);
    if (!to) return fail_line("--to " + core::log_safe(t) + ": " + to.error().public_text());
    out.to.push_back(*to);
  }
  // `encrypt` (issue 9): message-level encryption, over TLS whenever the receiver offers it.
  out.encrypt = request.security == "encrypt";
  auto policy = mail::policy::parse_policy(out.encrypt                ? "opportunistic"
                                           : request.security.empty() ? config->mail.default_policy
                                                                      : request.security);
  if (!policy) {
    return fail_line("--security: " + policy.error().public_text() + " (or encrypt)");
  }
  out.security = *policy;
  out.phi = request.phi;
  out.subject = request.subject;
  auto body = read_file(request.body_file, mail::mime::kMaxBodyBytes);
  if (!body) return fail_line("--body-file: " + body.error().public_text());
  out.text_body = std::move(*body);
  out.origin = cli_actor();

  const std::string hostname = mail_hostname(*config);
  if (!mail::mime::normalize_domain(hostname) || hostname.find('.') == std::string::npos) {
    return fail_line(
        "set [mail] hostname in sealpost.toml to this server's fully qualified "
        "name (\"" +
        core::log_safe(hostname) + "\" is not one)");
  }
  core::SystemClock clock;
  core::SystemRng rng;
  auto key = load_or_create_seal_key(dir.queue_key(), rng);
  if (!key) return fail_line(key.error().public_text());
  auto signer = load_mail_signer(dir, *config);
  if (!signer) return fail_line(signer.error().public_text());

  auto store = open_store(dir);
  if (!store) return fail_line(store.error().public_text());
  auto audit = CliAudit::open(dir, **store);
  if (!audit) return fail_line(audit.error().public_text());
  mail::queue::Outbox outbox(**store, (*audit)->auditor(), *signer, *key, hostname, clock, rng);
  // The server's OpenPGP key signs what is sealed (PGP/MIME); read only when needed.
  std::optional<core::SecretBytes> openpgp_key;
  std::optional<SmimeSetup> smime;
  std::optional<mail::secure::Sealer> sealer;
  if (out.encrypt) {
    auto read = read_secret_file(dir.signing_secret_key(), kMaxSigningKeyBytes);
    if (!read) return fail_line(read.error().public_text());
    openpgp_key = std::move(*read);
    auto loaded = load_smime_setup(*config);
    if (!loaded) return fail_line(loaded.error().public_text());
    smime = std::move(*loaded);
    sealer.emplace(*openpgp_key, smime->signer ? &*smime->signer : nullptr, smime->ca_pem);
    outbox.set_sealer(&*sealer);
  }
  // The secure-message portal, for recipients with neither key nor certificate: only with
  // [server] public_origin, the stable name its links must carry.
  const mail::queue::EscrowSettings escrow{.origin = config->public_origin,
                                           .days = config->mail.secure_message_days};
  outbox.set_escrow(&escrow);
  auto id = outbox.enqueue_blocking(out, kLocalSource);
  core::secure_wipe(out.text_body.data(), out.text_body.size());
  if (!id) return fail_line(id.error().public_text());
  if (auto s = (*audit)->finish(); !s) return fail_line(s.error().public_text());
  (*store)->close();
  std::printf("%s\n", id->c_str());
  return 0;
}

int run_mail_show(const std::string& data_dir, const std::string& id) {
  DataDir dir(data_dir);
  auto store = open_store(dir);
  if (!store) return fail_line(store.error().public_text());
  auto status = mail::queue::load_status_blocking(**store, id);
  if (!status) return fail_line(status.error().public_text());
  if (!*status) return fail_line("no message " + core::log_safe(id));
  const std::string text = mail::queue::status_text(**status);
  std::fwrite(text.data(), 1, text.size(), stdout);
  (*store)->close();
  return 0;
}

int run_mail_reset_recipient(const std::string& data_dir, const std::string& email) {
  auto address = auth::normalize_email(email);
  if (!address) return fail_line(address.error().public_text());
  const std::string account = portal::recipient_account_name(*address);
  bool removed = false;
  if (auto s = run_audited_change(data_dir, "reset recipient account", "recipient.account_reset",
                                  [&](store::Store& tx) -> core::Result<std::string> {
                                    auto r = tx.secure_messages().remove_recipient_account_blocking(
                                        *address);
                                    if (!r) return core::fail(r.error());
                                    if (!*r) {
                                      return core::fail(core::ErrorKind::not_found,
                                                        "that address has no recipient account");
                                    }
                                    removed = true;
                                    return account;
                                  });
      !s) {
    return fail_line(s.error().public_text());
  }
  std::printf("reset %s: the next secure message they open asks for a new password\n",
              account.c_str());
  return removed ? 0 : 1;
}

int run_mail_revoke(const std::string& data_dir, const std::string& id) {
  DataDir dir(data_dir);
  auto store = open_store(dir);
  if (!store) return fail_line(store.error().public_text());
  auto copies = (*store)->secure_messages().list_secure_messages_blocking(id);
  if (!copies) return fail_line(copies.error().public_text());
  if (copies->empty()) return fail_line("no secure-message portal copy of " + core::log_safe(id));
  auto audit = CliAudit::open(dir, **store);
  if (!audit) return fail_line(audit.error().public_text());
  core::SystemClock clock;
  const std::int64_t now = core::unix_seconds(clock.now());
  std::size_t revoked = 0;
  auto s = (*audit)->change("revoke secure message", "secure_message.revoke",
                            [&](store::Store& tx) -> core::Result<std::string> {
                              auto n =
                                  tx.secure_messages().revoke_secure_messages_blocking(id, now);
                              if (!n) return core::fail(n.error());
                              revoked = *n;
                              return fmt::format("message:{} copies:{}", id, revoked);
                            });
  if (!s) return fail_line(s.error().public_text());
  if (auto f = (*audit)->finish(); !f) return fail_line(f.error().public_text());
  (*store)->close();
  std::printf("revoked %zu unread portal copy(ies) of %s\n", revoked, id.c_str());
  const std::size_t read = static_cast<std::size_t>(std::count_if(
      copies->begin(), copies->end(), [](const auto& c) { return c.first_read_at.has_value(); }));
  if (read > 0)
    std::printf("%zu copy(ies) were read already and stay readable until they expire\n", read);
  return 0;
}

int run_mail_prune(const std::string& data_dir) {
  DataDir dir(data_dir);
  auto store = open_store(dir);
  if (!store) return fail_line(store.error().public_text());
  auto audit = CliAudit::open(dir, **store);
  if (!audit) return fail_line(audit.error().public_text());
  core::SystemClock clock;
  auto erased = mail::queue::prune_portal_copies_blocking(
      **store, (*audit)->auditor(), core::unix_seconds(clock.now()), cli_actor(), kLocalSource);
  if (!erased) return fail_line(erased.error().public_text());
  if (auto f = (*audit)->finish(); !f) return fail_line(f.error().public_text());
  (*store)->close();
  std::printf("erased the content of %zu expired or revoked portal copy(ies)\n", *erased);
  return 0;
}

namespace {

// One finding of `mail check-dns`: ok, or what to publish / fix.
struct Finding {
  bool ok = false;
  std::string text;
};

std::string security_note(const mail::dns::AnswerInfo& info) {
  return info.security == mail::dns::Security::secure ? " (DNSSEC-signed)" : "";
}

// TXT records of `name` that start with `prefix` (case-insensitive), or the lookup's failure.
core::Result<std::pair<std::vector<std::string>, mail::dns::AnswerInfo>> txt_with_prefix(
    mail::dns::Resolver& resolver, const std::string& name, std::string_view prefix) {
  auto answer = resolver.txt_blocking(name);
  if (answer.info.outcome == mail::dns::Outcome::servfail ||
      answer.info.outcome == mail::dns::Outcome::timeout) {
    return core::fail(
        core::ErrorKind::unavailable,
        "the DNS lookup of " + name + " failed (" +
            std::string(mail::dns::to_string(answer.info.outcome)) +
            (answer.info.security == mail::dns::Security::bogus ? ", DNSSEC bogus" : "") + ")");
  }
  std::vector<std::string> out;
  for (const auto& t : answer.texts) {
    if (t.size() >= prefix.size() &&
        std::equal(prefix.begin(), prefix.end(), t.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      out.push_back(t);
    }
  }
  return std::make_pair(std::move(out), answer.info);
}

}  // namespace

int run_mail_check_dns(const std::string& data_dir) {
  DataDir dir(data_dir);
  auto config = load_config(dir);
  if (!config) return fail_line(config.error().public_text());
  auto signer = load_mail_signer(dir, *config);
  if (!signer) return fail_line(signer.error().public_text());
  const std::string domain = signer->domain();
  auto resolver = mail::dns::Resolver::create(resolver_options(*config));
  if (!resolver) return fail_line(resolver.error().public_text());

  std::vector<Finding> findings;
  // SPF (RFC 7208): exactly one v=spf1 record at the domain, ending in a refusal.
  if (auto spf = txt_with_prefix(**resolver, domain, "v=spf1"); !spf) {
    findings.push_back({false, "SPF: " + spf.error().public_text()});
  } else if (spf->first.empty()) {
    findings.push_back({false, "SPF: no record at " + domain +
                                   ". Publish one naming the addresses this server sends "
                                   "from, e.g. \"v=spf1 ip4:192.0.2.10 -all\"."});
  } else if (spf->first.size() > 1) {
    findings.push_back({false, "SPF: " + std::to_string(spf->first.size()) + " records at " +
                                   domain +
                                   "; receivers treat that as an error (RFC 7208 "
                                   "4.5). Merge them into one."});
  } else {
    const std::string& r = spf->first.front();
    const bool refuses = r.ends_with(" -all") || r.ends_with(" ~all");
    findings.push_back({refuses, "SPF: \"" + core::log_safe(r) + "\"" + security_note(spf->second) +
                                     (refuses ? ""
                                              : ": it should end in -all (or ~all) so that others "
                                                "cannot send as " +
                                                    domain)});
  }
  // DKIM: each key we sign with is published as we have it.
  for (const auto& k : signer->keys()) {
    const std::string name = mail::dkim::record_name(k.selector, domain);
    auto dkim = txt_with_prefix(**resolver, name, "v=DKIM1");
    if (!dkim) {
      findings.push_back({false, "DKIM " + k.selector + ": " + dkim.error().public_text()});
      continue;
    }
    if (dkim->first.empty()) {
      findings.push_back({false, "DKIM " + k.selector + ": no record at " + name +
                                     ". Publish: " + mail::dkim::dns_record(k.key)});
      continue;
    }
    auto record = mail::dkim::parse_record(dkim->first.front());
    if (!record || !mail::dkim::record_matches(*record, k.key)) {
      findings.push_back(
          {false, "DKIM " + k.selector + ": the record at " + name +
                      " is not this server's key. Publish: " + mail::dkim::dns_record(k.key)});
      continue;
    }
    findings.push_back({true, "DKIM " + k.selector + ": published, matches the key in " +
                                  dir.secrets_dir().string() + security_note(dkim->second)});
  }
  // DMARC (RFC 7489): one v=DMARC1 record at _dmarc.D; p=none only monitors.
  if (auto dmarc = txt_with_prefix(**resolver, "_dmarc." + domain, "v=DMARC1"); !dmarc) {
    findings.push_back({false, "DMARC: " + dmarc.error().public_text()});
  } else if (dmarc->first.size() != 1) {
    findings.push_back({false, dmarc->first.empty()
                                   ? "DMARC: no record at _dmarc." + domain +
                                         ". Publish e.g. \"v=DMARC1; p=quarantine; "
                                         "rua=mailto:dmarc-reports@" +
                                         domain + "\"."
                                   : "DMARC: several records at _dmarc." + domain +
                                         "; receivers ignore them all. Keep one."});
  } else {
    const std::string& r = dmarc->first.front();
    const bool enforcing =
        r.find("p=reject") != std::string::npos || r.find("p=quarantine") != std::string::npos;
    findings.push_back({enforcing, "DMARC: \"" + core::log_safe(r) + "\"" +
                                       security_note(dmarc->second) +
                                       (enforcing ? ""
                                                  : ": p=none only monitors; move to "
                                                    "p=quarantine once reports are clean")});
  }
  bool all = true;
  std::printf("sending domain %s\n", domain.c_str());
  for (const auto& f : findings) {
    std::printf("%s %s\n", f.ok ? "ok     " : "PROBLEM", f.text.c_str());
    all = all && f.ok;
  }
  return all ? 0 : 1;
}

int run_mail_queue(const std::string& data_dir) {
  DataDir dir(data_dir);
  auto store = open_store(dir);
  if (!store) return fail_line(store.error().public_text());
  auto rows = (*store)->mail().queue_summary_blocking();
  if (!rows) return fail_line(rows.error().public_text());
  if (rows->empty()) std::printf("the queue is empty\n");
  for (const auto& r : *rows) {
    std::printf("%-40s %-18s %6lld  oldest %s\n", core::log_safe(r.domain).c_str(),
                std::string(store::mail_state_name(r.state)).c_str(),
                static_cast<long long>(r.count), mail::queue::utc_time_text(r.oldest).c_str());
  }
  (*store)->close();
  return 0;
}

int run_mail_cancel(const std::string& data_dir, const std::string& id) {
  DataDir dir(data_dir);
  auto store = open_store(dir);
  if (!store) return fail_line(store.error().public_text());
  auto message = (*store)->mail().find_message_blocking(id, false);
  if (!message) return fail_line(message.error().public_text());
  if (!*message) return fail_line("no message " + core::log_safe(id));
  auto audit = CliAudit::open(dir, **store);
  if (!audit) return fail_line(audit.error().public_text());

  // The waiting recipients are leased to this command, as a node would lease them, so a node
  // cannot start on one while it is being cancelled; one being attempted right now is left.
  core::SystemClock clock;
  core::SystemRng rng;
  std::array<std::uint8_t, 8> tag{};
  rng.fill(tag);
  const std::string owner = fmt::format("cancel/{:02x}", fmt::join(tag, ""));
  const std::int64_t now = core::unix_seconds(clock.now());
  auto claimed = (*store)->mail().claim_message_blocking(owner, id, now, now + 60);
  if (!claimed) return fail_line(claimed.error().public_text());
  const std::string actor = cli_actor();
  std::size_t cancelled = 0;
  if (!claimed->empty()) {
    auto s = (*audit)->change("cancel mail", "mail.cancel",
                              [&](store::Store& tx) -> core::Result<std::string> {
                                cancelled = 0;
                                for (const auto& c : *claimed) {
                                  store::MailAttempt a;
                                  a.message_id = c.message_id;
                                  a.idx = c.idx;
                                  a.at = now;
                                  a.result = store::MailState::dropped;
                                  a.reply = "cancelled by " + actor;
                                  a.policy = (*message)->security;
                                  auto held = tx.mail().record_attempt_blocking(owner, a, 0);
                                  if (!held) return core::fail(held.error());
                                  if (*held) ++cancelled;
                                }
                                return fmt::format("message:{} recipients:{}", id, cancelled);
                              });
    if (!s) {
      (void)(*store)->mail().release_leases_blocking(owner);
      return fail_line(s.error().public_text());
    }
  }
  if (auto s = (*audit)->finish(); !s) return fail_line(s.error().public_text());
  auto rcpts = (*store)->mail().list_recipients_blocking(id);
  if (!rcpts) return fail_line(rcpts.error().public_text());
  std::size_t in_flight = 0;
  for (const auto& r : *rcpts) {
    in_flight += r.state == store::MailState::queued || r.state == store::MailState::deferred ||
                 r.state == store::MailState::awaiting_fallback;
  }
  (*store)->close();
  std::printf("cancelled %zu recipient(s) of %s\n", cancelled, id.c_str());
  if (in_flight > 0) {
    std::printf("%zu recipient(s) are being attempted right now: run the command again\n",
                in_flight);
    return 1;
  }
  return 0;
}

int run_mail_tls_report(const std::string& data_dir, const std::string& day_text) {
  DataDir dir(data_dir);
  auto config = load_config(dir);
  if (!config) return fail_line(config.error().public_text());
  core::SystemClock clock;
  const std::int64_t today = mail::queue::utc_day(core::unix_seconds(clock.now()));
  std::int64_t day = today - 86400;
  if (day_text == "today") {
    day = today;
  } else if (!day_text.empty() && day_text != "yesterday") {
    std::tm tm{};
    const char* end = ::strptime(day_text.c_str(), "%Y-%m-%d", &tm);
    if (end == nullptr || *end != '\0')
      return fail_line("--day: YYYY-MM-DD, \"today\" or \"yesterday\"");
    day = static_cast<std::int64_t>(::timegm(&tm));
  }
  auto signer = load_mail_signer(dir, *config);
  if (!signer) return fail_line(signer.error().public_text());
  core::SystemRng rng;
  auto key = load_or_create_seal_key(dir.queue_key(), rng);
  if (!key) return fail_line(key.error().public_text());
  auto resolver = mail::dns::Resolver::create(resolver_options(*config));
  if (!resolver) return fail_line(resolver.error().public_text());
  auto store = open_store(dir);
  if (!store) return fail_line(store.error().public_text());
  auto audit = CliAudit::open(dir, **store);
  if (!audit) return fail_line(audit.error().public_text());
  const mail::queue::TlsReportOptions report_options = tls_report_options(*config, cli_actor());
  auto outcomes = mail::queue::send_tls_reports_blocking(
      day, **store, **resolver, *signer, *key, (*audit)->auditor(), report_options, clock, rng);
  if (!outcomes) return fail_line(outcomes.error().public_text());
  if (auto s = (*audit)->finish(); !s) return fail_line(s.error().public_text());
  (*store)->close();
  if (outcomes->empty()) std::printf("no TLS report due for that day\n");
  for (const auto& o : *outcomes) {
    std::printf("%s: %s\n", core::log_safe(o.domain).c_str(), core::log_safe(o.outcome).c_str());
  }
  return 0;
}

mail::queue::TlsReportOptions tls_report_options(const Config& config, std::string owner) {
  mail::queue::TlsReportOptions o;
  o.sender = config.mail.default_sender;
  o.hostname = mail_hostname(config);
  auto sender = mail::Address::parse(config.mail.default_sender);
  o.organization = !config.mail.dkim_domain.empty() ? config.mail.dkim_domain
                   : sender                         ? sender->domain()
                                                    : o.hostname;
  o.owner = std::move(owner);
  o.ca_file = config.mail.ca_file;
  return o;
}

}  // namespace app
