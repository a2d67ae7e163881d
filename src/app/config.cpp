// Trust: administrator-supplied configuration file.
#include "app/config.hpp"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <vector>

#include "campaigns/contacts.hpp"
#include "mail/policy/policy.hpp"
#include "mail/submission/limits.hpp"
#include "store/store.hpp"

namespace app {
namespace {

using core::ErrorKind;

// trusted_proxies names a few load balancers or their networks; a list this long is a
// mistake (a routing table pasted in), and every request walks it.
constexpr std::size_t kMaxTrustedProxies = 256;

std::string where(const toml::source_region& source) {
  return fmt::format("line {}, column {}", source.begin.line, source.begin.column);
}

// One setting: its section and key, and how to read it into Config with its bounds.
struct Setting {
  std::string_view section;
  std::string_view key;
  std::function<core::Status(const toml::node&, Config&)> read;
};

core::Status bad(const toml::node& node, std::string_view section, std::string_view key,
                 std::string_view expected) {
  return core::fail(ErrorKind::invalid_input,
                    fmt::format("sealpost.toml {}: [{}] {} must be {}", where(node.source()),
                                section, key, expected));
}

Setting string_setting(std::string_view section, std::string_view key,
                       std::string Config::*member) {
  return {section, key, [=](const toml::node& n, Config& c) -> core::Status {
            auto v = n.value<std::string>();
            if (!v) return bad(n, section, key, "a string");
            c.*member = *v;
            return core::ok();
          }};
}

template <class T>
Setting integer_setting(std::string_view section, std::string_view key, std::int64_t min,
                        std::int64_t max, std::function<void(Config&, std::int64_t)> set) {
  return {section, key, [=](const toml::node& n, Config& c) -> core::Status {
            auto v = n.value<std::int64_t>();
            if (!v || !n.is_integer() || *v < min || *v > max) {
              return bad(n, section, key, fmt::format("an integer from {} to {}", min, max));
            }
            set(c, *v);
            return core::ok();
          }};
}

Setting number_setting(std::string_view section, std::string_view key, double min, double max,
                       double intake::Limits::*member) {
  return {section, key, [=](const toml::node& n, Config& c) -> core::Status {
            auto v = n.value<double>();
            if (!v || *v < min || *v > max) {
              return bad(n, section, key, fmt::format("a number from {} to {}", min, max));
            }
            c.intake.*member = *v;
            return core::ok();
          }};
}

constexpr const char* kPolicyNames =
    "one of \"none\", \"opportunistic\", \"verify\", \"exclusive\", \"forced\"";

Setting mail_string(std::string_view key, std::string MailConfig::*member) {
  return {"mail", key, [=](const toml::node& n, Config& c) -> core::Status {
            auto v = n.value<std::string>();
            if (!v || v->find_first_of("\r\n") != std::string::npos) {
              return bad(n, "mail", key, "a string on one line");
            }
            c.mail.*member = *v;
            return core::ok();
          }};
}

// [submission]: the listeners' ADDR:PORT (checked when serve binds them) and the subject
// marker (printable ASCII without spaces, bounded: it is searched for in every subject).
Setting submission_string(std::string_view key, std::string SubmissionConfig::*member) {
  return {"submission", key, [=](const toml::node& n, Config& c) -> core::Status {
            auto v = n.value<std::string>();
            const bool marker = key == "secure_marker";
            if (!v || (marker && (v->size() > mail::submission::kMaxSecureMarkerBytes ||
                                  std::any_of(v->begin(), v->end(), [](unsigned char ch) {
                                    return ch <= 0x20 || ch >= 0x7f;
                                  })))) {
              return bad(n, "submission", key,
                         marker ? "printable ASCII without spaces, at most 32 bytes (\"\": none)"
                                : "a string ADDR:PORT (\"\": off)");
            }
            c.submission.*member = *v;
            return core::ok();
          }};
}

const std::vector<Setting>& settings() {
  static const std::vector<Setting> table = {
      string_setting("server", "https_listen", &Config::https_listen),
      string_setting("server", "http_listen", &Config::http_listen),
      string_setting("server", "public_origin", &Config::public_origin),
      integer_setting<std::size_t>("server", "threads", 0, 64,
                                   [](Config& c, auto v) { c.threads = v; }),
      integer_setting<std::size_t>("server", "crypto_threads", 0, 64,
                                   [](Config& c, auto v) { c.crypto_threads = v; }),
      {"server", "trusted_proxies",
       [](const toml::node& n, Config& c) -> core::Status {
         const auto* list = n.as_array();
         if (list == nullptr || list->size() > kMaxTrustedProxies) {
           return bad(n, "server", "trusted_proxies",
                      fmt::format("a list of at most {} CIDRs, e.g. [\"10.0.0.0/8\"]",
                                  kMaxTrustedProxies));
         }
         c.trusted_proxies.clear();
         for (const auto& entry : *list) {
           auto text = entry.value<std::string>();
           if (!text) return bad(entry, "server", "trusted_proxies", "a list of CIDR strings");
           auto cidr = http::Cidr::parse(*text);
           if (!cidr) {
             return core::fail(ErrorKind::invalid_input,
                               fmt::format("sealpost.toml {}: [server] trusted_proxies entry {}",
                                           where(entry.source()), cidr.error().public_text()));
           }
           c.trusted_proxies.push_back(*cidr);
         }
         return core::ok();
       }},
      {"contacts", "purposes",
       [](const toml::node& n, Config& c) -> core::Status {
         const auto* list = n.as_array();
         constexpr std::string_view kWhat =
             "a list of 1 to 32 names ([a-z][a-z0-9_]{0,31}), e.g. [\"marketing\", \"reminders\"]";
         if (list == nullptr || list->empty() || list->size() > 32) {
           return bad(n, "contacts", "purposes", kWhat);
         }
         c.contacts.purposes.clear();
         for (const auto& entry : *list) {
           auto text = entry.value<std::string>();
           if (!text || !campaigns::valid_field_name(*text) ||
               std::find(c.contacts.purposes.begin(), c.contacts.purposes.end(), *text) !=
                   c.contacts.purposes.end()) {
             return bad(entry, "contacts", "purposes", kWhat);
           }
           c.contacts.purposes.push_back(*text);
         }
         return core::ok();
       }},
      {"server", "proxy_protocol",
       [](const toml::node& n, Config& c) -> core::Status {
         auto v = n.value<bool>();
         if (!v || !n.is_boolean()) return bad(n, "server", "proxy_protocol", "true or false");
         c.proxy_protocol = *v;
         return core::ok();
       }},
      string_setting("tls", "certificate_file", &Config::tls_certificate_file),
      string_setting("tls", "private_key_file", &Config::tls_private_key_file),
      {"tls", "min_version",
       [](const toml::node& n, Config& c) -> core::Status {
         auto v = n.value<std::string>();
         if (!v) return bad(n, "tls", "min_version", "\"1.2\" or \"1.3\"");
         c.tls.min_version = *v;
         return core::ok();
       }},
      {"tls", "ciphers_tls12",
       [](const toml::node& n, Config& c) -> core::Status {
         auto v = n.value<std::string>();
         if (!v) return bad(n, "tls", "ciphers_tls12", "a string");
         c.tls.tls12_ciphers = *v;
         return core::ok();
       }},
      integer_setting<std::size_t>("limits", "header_bytes", 4096, 65536,
                                   [](Config& c, auto v) { c.limits.header_bytes = v; }),
      integer_setting<int>(
          "limits", "request_timeout_seconds", 5, 300,
          [](Config& c, auto v) { c.limits.request_timeout = std::chrono::seconds(v); }),
      integer_setting<int>(
          "limits", "handshake_timeout_seconds", 2, 60,
          [](Config& c, auto v) { c.limits.handshake_timeout = std::chrono::seconds(v); }),
      integer_setting<std::size_t>("limits", "max_connections", 16, 100000,
                                   [](Config& c, auto v) { c.limits.max_connections = v; }),
      integer_setting<std::size_t>(
          "limits", "max_connections_per_address", 8, 100000,
          [](Config& c, auto v) { c.limits.max_connections_per_address = v; }),
      integer_setting<std::size_t>(
          "limits", "redirect_max_connections", 16, 100000,
          [](Config& c, auto v) { c.limits.redirect_max_connections = v; }),
      integer_setting<int>(
          "forms", "token_max_age_seconds", 300, intake::kMaxTokenAgeSeconds,
          [](Config& c, auto v) { c.intake.token_max_age = std::chrono::seconds(v); }),
      number_setting("rate_limit", "per_ip_per_minute", 1, 100000,
                     &intake::Limits::per_ip_per_minute),
      number_setting("rate_limit", "per_ip_burst", 1, 100000, &intake::Limits::per_ip_burst),
      number_setting("rate_limit", "per_form_per_minute", 1, 10000000,
                     &intake::Limits::per_form_per_minute),
      number_setting("rate_limit", "per_form_burst", 1, 1000000, &intake::Limits::per_form_burst),
      string_setting("store", "file_drop_dir", &Config::file_drop_dir),
      string_setting("store", "database", &Config::database),
      integer_setting<std::size_t>("store", "pool_size", 1, 256,
                                   [](Config& c, auto v) { c.database_pool = v; }),
      string_setting("recovery", "key_fingerprint", &Config::recovery_key_fingerprint),
      integer_setting<int>(
          "portal", "idle_timeout_seconds", 60, 3600,
          [](Config& c, auto v) { c.portal.idle_timeout = std::chrono::seconds(v); }),
      integer_setting<int>(
          "portal", "absolute_timeout_seconds", 600, 86400,
          [](Config& c, auto v) { c.portal.absolute_timeout = std::chrono::seconds(v); }),
      integer_setting<int>(
          "portal", "enrolment_link_hours", 1, 720,
          [](Config& c, auto v) { c.portal.enrolment_link_lifetime = std::chrono::hours(v); }),
      integer_setting<int>(
          "portal", "lockout_account_free_failures", 1, 20,
          [](Config& c, auto v) { c.portal.account_free_failures = static_cast<int>(v); }),
      integer_setting<int>(
          "portal", "lockout_address_free_failures", 10, 10000,
          [](Config& c, auto v) { c.portal.address_free_failures = static_cast<int>(v); }),
      integer_setting<int>("abuse", "auto_block_events", 0, 10000,
                           [](Config& c, auto v) { c.abuse.auto_block_events = v; }),
      integer_setting<int>("abuse", "auto_block_window_seconds", 10, 86400,
                           [](Config& c, auto v) { c.abuse.window = std::chrono::seconds(v); }),
      integer_setting<int>("abuse", "auto_block_seconds", 60, 30 * 86400,
                           [](Config& c, auto v) { c.abuse.block_for = std::chrono::seconds(v); }),
      {"log", "level",
       [](const toml::node& n,
          Config& c) -> core::
                         Status {
                           auto v = n.value<std::string>();
                           static const std::vector<std::string> levels = {"trace", "debug", "info",
                                                                           "warn",  "error", "off"};
                           if (!v || std::find(levels.begin(), levels.end(), *v) == levels.end()) {
                             return bad(n, "log", "level",
                                        "one of trace, debug, info, warn, error, off");
                           }
                           c.log_level = *v;
                           return core::ok();
                         }},
      // [mail] (issue 8).
      mail_string("hostname", &MailConfig::hostname),
      mail_string("default_sender", &MailConfig::default_sender),
      mail_string("resolver", &MailConfig::resolver),
      mail_string("trust_anchor_file", &MailConfig::trust_anchor_file),
      mail_string("ca_file", &MailConfig::ca_file),
      mail_string("dkim_domain", &MailConfig::dkim_domain),
      mail_string("dkim_selector", &MailConfig::dkim_selector),
      mail_string("smime_cert_file", &MailConfig::smime_cert_file),
      mail_string("smime_key_file", &MailConfig::smime_key_file),
      mail_string("smime_ca_file", &MailConfig::smime_ca_file),
      {"mail", "default_policy",
       [](const toml::node& n, Config& c) -> core::
                                              Status {
                                                auto v = n.value<std::string>();
                                                if (!v || !mail::policy::parse_policy(*v)) {
                                                  return bad(n, "mail", "default_policy",
                                                             kPolicyNames);
                                                }
                                                c.mail.default_policy = *v;
                                                return core::ok();
                                              }},
      {"mail", "domains",
       [](const toml::node& n, Config& c)
           -> core::
               Status {
                 const auto* domains = n.as_table();
                 if (domains == nullptr) {
                   return bad(n, "mail", "domains",
                              "tables such as [mail.domains.\"bank.example\"]");
                 }
                 for (auto&& [name, entry] : *domains) {
                   const auto* table = entry.as_table();
                   const std::string domain(name.str());
                   if (table == nullptr || domain.empty() || domain.size() > 253 ||
                       domain.find_first_of(" \t\r\n\"/@") != std::string::npos) {
                     return bad(entry, "mail.domains", domain, "a table for a domain name");
                   }
                   for (auto&& [key, value] : *table) {
                     auto v = value.value<std::string>();
                     if (key.str() != "policy" || !v || !mail::policy::parse_policy(*v)) {
                       return bad(value, "mail.domains.\"" + domain + "\"", key.str(),
                                  std::string("policy = one of ") + kPolicyNames);
                     }
                     std::string lower = domain;
                     std::transform(
                         lower.begin(), lower.end(), lower.begin(),
                         [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
                     c.mail.domain_policies[lower] = *v;
                   }
                 }
                 return core::ok();
               }},
      integer_setting<int>(
          "mail", "secure_message_days", 1, 365,
          [](Config& c, auto v) { c.mail.secure_message_days = static_cast<int>(v); }),
      integer_setting<int>("mail", "remote_port", 1, 65535,
                           [](Config& c, auto v) { c.mail.remote_port = static_cast<int>(v); }),
      integer_setting<int>("mail", "retry_first_seconds", 10, 86400,
                           [](Config& c, auto v) { c.mail.retry_first = std::chrono::seconds(v); }),
      integer_setting<int>("mail", "retry_max_seconds", 60, 86400,
                           [](Config& c, auto v) { c.mail.retry_max = std::chrono::seconds(v); }),
      integer_setting<int>("mail", "expire_seconds", 3600, 30 * 86400,
                           [](Config& c, auto v) { c.mail.expire = std::chrono::seconds(v); }),
      integer_setting<int>("mail", "dns_timeout_seconds", 1, 120,
                           [](Config& c, auto v) { c.mail.dns_timeout = std::chrono::seconds(v); }),
      integer_setting<int>("mail", "lease_seconds", 30, 3600,
                           [](Config& c, auto v) { c.mail.lease = std::chrono::seconds(v); }),
      integer_setting<int>("mail", "max_connections", 1, 1000,
                           [](Config& c, auto v) { c.mail.max_connections = v; }),
      integer_setting<int>("mail", "max_per_domain", 1, 100,
                           [](Config& c, auto v) { c.mail.max_per_domain = v; }),
      integer_setting<int>("mail", "backlog_alert_recipients", 1, 10'000'000,
                           [](Config& c, auto v) { c.mail.backlog_alert_recipients = v; }),
      integer_setting<int>(
          "mail", "backlog_alert_seconds", 60, 30 * 86400,
          [](Config& c, auto v) { c.mail.backlog_alert_age = std::chrono::seconds(v); }),
      // [submission] (issue 9): SMTP submission.
      submission_string("listen", &SubmissionConfig::listen),
      submission_string("tls_listen", &SubmissionConfig::tls_listen),
      submission_string("secure_marker", &SubmissionConfig::secure_marker),
      integer_setting<int>(
          "submission", "messages_per_minute", 1, 100'000,
          [](Config& c, auto v) { c.submission.messages_per_minute = static_cast<double>(v); }),
      integer_setting<int>(
          "submission", "messages_burst", 1, 100'000,
          [](Config& c, auto v) { c.submission.messages_burst = static_cast<double>(v); }),
      integer_setting<int>("contacts", "per_domain_per_minute", 1, 100'000,
                           [](Config& c, auto v) { c.contacts.per_domain_per_minute = v; }),
      // O3: the admin listener and log format.
      string_setting("server", "admin_listen", &Config::admin_listen),
      {"server", "admin_listen_public",
       [](const toml::node& n, Config& c) -> core::
                                              Status {
                                                auto v = n.value<bool>();
                                                if (!v || !n.is_boolean())
                                                  return bad(n, "server", "admin_listen_public",
                                                             "true or false");
                                                c.admin_listen_public = *v;
                                                return core::ok();
                                              }},
      {"log", "format",
       [](const toml::node& n, Config& c) -> core::
                                              Status {
                                                auto v = n.value<std::string>();
                                                if (!v || (*v != "text" && *v != "json")) {
                                                  return bad(n, "log", "format",
                                                             "\"text\" or \"json\"");
                                                }
                                                c.log_format = *v;
                                                return core::ok();
                                              }},
  };
  return table;
}

}  // namespace

core::Result<Config> load_config(const DataDir& dir) {
  std::ifstream in(dir.config(), std::ios::binary);
  if (!in) {
    return core::fail(ErrorKind::invalid_input,
                      "cannot read " + dir.config().string() + " (run `sealpost init` first)");
  }
  std::stringstream text;
  text << in.rdbuf();
  toml::table doc;
  try {
    doc = toml::parse(text.str(), dir.config().string());
  } catch (const toml::parse_error& e) {
    return core::fail(ErrorKind::invalid_input,
                      fmt::format("sealpost.toml {}: {}", where(e.source()), e.description()));
  }
  Config config;
  for (auto&& [section_key, section_node] : doc) {
    const auto* section = section_node.as_table();
    if (section == nullptr) {
      return core::fail(ErrorKind::invalid_input,
                        fmt::format("sealpost.toml {}: unknown setting \"{}\"",
                                    where(section_node.source()), section_key.str()));
    }
    for (auto&& [key, node] : *section) {
      const Setting* found = nullptr;
      for (const auto& s : settings()) {
        if (s.section == section_key.str() && s.key == key.str()) found = &s;
      }
      if (found == nullptr) {
        return core::fail(ErrorKind::invalid_input,
                          fmt::format("sealpost.toml {}: unknown setting [{}] {}",
                                      where(node.source()), section_key.str(), key.str()));
      }
      if (auto s = found->read(node, config); !s) return core::fail(s.error());
    }
  }
  if (auto s = http::check_tls_policy(config.tls); !s) {
    return core::fail(ErrorKind::invalid_input, "sealpost.toml [tls]: " + s.error().public_text());
  }
  if (config.tls_certificate_file.empty() != config.tls_private_key_file.empty()) {
    return core::fail(ErrorKind::invalid_input,
                      "sealpost.toml [tls]: set both certificate_file and private_key_file, or "
                      "neither");
  }
  if (!config.database.empty()) {
    if (auto s = store::check_database_uri(config.database); !s) {
      return core::fail(core::ErrorKind::invalid_input,
                        "sealpost.toml [store] database: " + s.error().public_text());
    }
  }
  if (config.mail.retry_max < config.mail.retry_first) {
    return core::fail(ErrorKind::invalid_input,
                      "sealpost.toml [mail]: retry_max_seconds must not be below "
                      "retry_first_seconds");
  }
  if (config.tls_certificate_file.empty()) {
    config.tls_certificate_file = dir.tls_certificate().string();
    config.tls_private_key_file = dir.tls_private_key().string();
  }
  return config;
}

core::Status check_serve_paths(const Config& config) {
  // Checked when serving, not when reading the file: the CLI's commands (key import, form
  // add, ...) must work while a drop share is not mounted.
  if (!config.file_drop_dir.empty() && (config.file_drop_dir.front() != '/' ||
                                        !std::filesystem::is_directory(config.file_drop_dir))) {
    return core::fail(ErrorKind::invalid_input,
                      "sealpost.toml [store] file_drop_dir must be an existing directory, given "
                      "as an absolute path");
  }
  return core::ok();
}

std::string default_config_text(const std::string& database) {
  std::string text =
      R"(# sealpost configuration. Every setting is optional; the values shown are the
# defaults. docs/OPERATIONS.md describes each one with its bounds.
# Secrets are never written here: they live in files under secrets/.

[server]
# https_listen = "127.0.0.1:8443"   # ADDR:PORT; port 0 picks a free port
# http_listen = "127.0.0.1:8080"    # redirect-only listener; "" disables it
# public_origin = ""                # e.g. "https://forms.example.org"; used in redirects
# threads = 0                       # event-loop threads, 0 = one per core (0..64)
# crypto_threads = 0                # encryption workers, 0 = one per core (0..64)
# trusted_proxies = []              # load balancers' CIDRs, e.g. ["10.0.0.0/8", "2001:db8::/32"]
# proxy_protocol = true             # trusted_proxies send a PROXY header (HAProxy send-proxy-v2)
# admin_listen = "127.0.0.1:9090"   # /healthz, /readyz, /metrics (plain HTTP); "" disables
# admin_listen_public = false       # true allows a non-loopback admin_listen

[tls]
# certificate_file = ""             # PEM chain; empty = the self-signed tls/cert.pem
# private_key_file = ""             # PEM key; empty = tls/key.pem
# min_version = "1.2"               # "1.2" or "1.3"
# ciphers_tls12 = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

[limits]
# header_bytes = 16384              # 4096..65536
# request_timeout_seconds = 30      # 5..300: whole request, and keep-alive idle time
# handshake_timeout_seconds = 10    # 2..60
# max_connections = 2048            # 16..100000: HTTPS connections
# max_connections_per_address = 128 # 8..100000: per client address, both listeners
# redirect_max_connections = 256    # 16..100000: the redirect-only HTTP listener

[forms]
# token_max_age_seconds = 14400     # 300..604800: how long a rendered form stays valid

[rate_limit]
# per_ip_per_minute = 30            # form posts per client address
# per_ip_burst = 10
# per_form_per_minute = 6000        # form posts per form, all clients together
# per_form_burst = 600

[store]
# file_drop_dir = ""                # also write each submission as REF.pgp here (S4)
# database = ""                     # "" = SQLite (DIR/sealpost.db); or a libpq URI such as
#                                   # "postgresql://sealpost@db.internal:5432/sealpost?sslmode=verify-full"
#                                   # (password: DIR/secrets/database-password or PGPASSFILE)
# pool_size = 8                     # 1..256: database connections per node

[recovery]
# key_fingerprint = ""              # organisation recovery key, added to every form (S9)

[portal]
# idle_timeout_seconds = 900        # 60..3600: a session unused this long ends (P2)
# absolute_timeout_seconds = 43200  # 600..86400: a session ends this long after sign-in
# enrolment_link_hours = 72         # 1..720: how long an enrolment link stays usable
# lockout_account_free_failures = 3 # 1..20: wrong passwords/codes per account before delays
# lockout_address_free_failures = 50  # 10..10000: the same per client address (one NAT
#                                     # address may carry a whole clinic)

[abuse]
# auto_block_events = 30            # 0..10000 (0: off): refusals from one address (bad form
#                                   # token, honeypot, replay; sign-in delayed by the lockout)
#                                   # within the window that block the address
# auto_block_window_seconds = 600   # 10..86400
# auto_block_seconds = 3600         # 60..2592000: how long an automatic block lasts

[mail]
# hostname = ""                     # EHLO name and Message-ID domain; "" = public_origin's host
# default_sender = ""               # e.g. "forms@clinic.example": envelope sender and From
# resolver = ""                     # DNS resolver "IP:PORT"; "" = the system's (/etc/resolv.conf)
# trust_anchor_file = "/usr/share/dns/root.key"  # DNSSEC root anchor; "" = no DNSSEC, so no DANE
# default_policy = "opportunistic"  # none, opportunistic, verify, exclusive, forced
# remote_port = 25                  # 1..65535: the port spoken to at MX hosts
# ca_file = ""                      # CA bundle for MX, MTA-STS and TLS-RPT https hosts; "" = system's
# dkim_domain = ""                  # d= of the DKIM signatures; "" = default_sender's domain
# dkim_selector = ""                # s=; keys from `sealpost dkim init` (secrets/dkim-*.pem)
# smime_cert_file = ""              # S/MIME: the organisation's signing certificate (PEM); "" = no S/MIME
# smime_key_file = ""               # its private key (PEM, unencrypted; e.g. under secrets/, mode 0600)
# smime_ca_file = ""                # CAs recipient certificates must chain to; "" = only --pin'ned ones
# secure_message_days = 30          # 1..365: a secure-message portal copy can be opened this long
# retry_first_seconds = 300         # 10..86400: first retry after a temporary failure
# retry_max_seconds = 3600          # 60..86400: the backoff's cap (jittered)
# expire_seconds = 432000           # 3600..2592000: then the sender gets a bounce (5 days)
# dns_timeout_seconds = 10          # 1..120
# lease_seconds = 120               # 30..3600: a node's hold on a recipient it attempts
#                                   # (renewed while it works); after a crash, others wait this long
# max_connections = 32              # 1..1000: SMTP sessions at once, this node
# max_per_domain = 4                # 1..100: of them to one recipient domain
# backlog_alert_recipients = 5000   # 1..10000000: alert while more recipients wait (A3)
# backlog_alert_seconds = 14400     # 60..2592000: alert while the oldest waits longer
#
# Per recipient domain; the stricter of this and the message's own policy wins:
# [mail.domains."bank.example"]
# policy = "verify"

[submission]
# listen = ""                       # ADDR:PORT for SMTP submission, 587-style: STARTTLS
#                                   # required before AUTH (e.g. "0.0.0.0:587"); "" = off
# tls_listen = ""                   # ADDR:PORT, 465-style: implicit TLS; "" = off
# secure_marker = "[secure]"        # a subject containing it asks for message encryption
#                                   # (PGP/MIME or S/MIME per recipient); "" = none
# messages_per_minute = 60          # 1..100000: messages per API key (each MAIL takes one)
# messages_burst = 120              # 1..100000: at once, before the rate applies

[contacts]
# purposes = ["marketing", "operations", "reminders", "treatment"]
#                                   # what an authorisation (and a campaign) may name
# per_domain_per_minute = 600       # 1..100000: campaign messages queued per recipient domain

[log]
# level = "info"                    # trace, debug, info, warn, error, off
# format = "text"                  # "text" or "json" (one JSON object per line)
)";
  if (!database.empty()) {
    // The caller checked it holds no quote, backslash or line break.
    const std::string marker = "# database = \"\"";
    text.insert(text.find(marker), "database = \"" + database + "\"\n");
  }
  return text;
}

}  // namespace app
