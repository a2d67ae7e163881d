#pragma once
// sealpost.toml: every setting, its default and its bounds (docs/OPERATIONS.md lists
// them all; keep the two in step). Secrets are never in this file, only paths to them.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "app/abuse_limits.hpp"
#include "app/data_dir.hpp"
#include "core/result.hpp"
#include "http/client_address.hpp"
#include "http/limits.hpp"
#include "http/tls_context.hpp"
#include "intake/limits.hpp"
#include "mail/submission/limits.hpp"
#include "portal/limits.hpp"

namespace app {

// [mail] (issue 8): how sealpost sends mail. docs/OPERATIONS.md lists each with its bounds.
struct MailConfig {
  std::string hostname;        // EHLO name and Message-ID domain; "" = public_origin's host
  std::string default_sender;  // envelope and From when a message names none
  std::string resolver;        // "IP:PORT" of the DNS resolver; "" = /etc/resolv.conf's
  std::string trust_anchor_file = "/usr/share/dns/root.key";  // "" = no DNSSEC, no DANE
  std::string default_policy = "opportunistic";
  // [mail.domains."D"] policy = "...": per recipient domain (lowercase keys).
  std::map<std::string, std::string> domain_policies;
  int remote_port = 25;       // the port spoken to at MX hosts (tests change it)
  std::string ca_file;        // CA bundle for MX certificates and MTA-STS hosts; "" = system
  std::string dkim_domain;    // d= of the signatures; "" = default_sender's domain
  std::string dkim_selector;  // s= (keys: secrets/dkim-<selector>.*.pem, `sealpost dkim init`)
  // S/MIME (issue 9): the organisation's signing certificate and key (PEM; "" = no S/MIME
  // sending), and the CAs recipient certificates must chain to ("" = only pinned ones).
  std::string smime_cert_file;
  std::string smime_key_file;
  std::string smime_ca_file;
  // The secure-message portal (issue 9): how long a keyless recipient's copy can be opened.
  int secure_message_days = 30;
  std::chrono::seconds retry_first{300};   // first retry after a temporary failure
  std::chrono::seconds retry_max{3600};    // the backoff's cap
  std::chrono::seconds expire{5 * 86400};  // then a bounce to the sender
  std::chrono::seconds dns_timeout{10};
  std::chrono::seconds lease{120};   // how long a claim holds a recipient (renewed while used)
  std::size_t max_connections = 32;  // SMTP sessions at once, this node
  std::size_t max_per_domain = 4;    // of them to one recipient domain
  // A3: the queue backlog alert, raised while recipients waiting (queued or deferred) are
  // more than this many, or the oldest waiting message is older than this.
  std::size_t backlog_alert_recipients = 5000;
  std::chrono::seconds backlog_alert_age{4 * 3600};
};

// [submission] (issue 9): SMTP submission for mail clients and devices (mail/submission).
struct SubmissionConfig {
  std::string listen;                      // ADDR:PORT, 587-style (STARTTLS); "" = off
  std::string tls_listen;                  // ADDR:PORT, 465-style (implicit TLS); "" = off
  std::string secure_marker = "[secure]";  // in a subject: asks for message encryption
  double messages_per_minute = mail::submission::kMessagesPerMinutePerKey;  // per API key
  double messages_burst = mail::submission::kMessagesBurstPerKey;
};

// [contacts] (issue 11)
struct ContactsConfig {
  // The purposes an authorisation may name (C1: treatment, operations, marketing; treatment
  // reminders are their own purpose, C7). Each [a-z][a-z0-9_]{0,31}; at most 32.
  std::vector<std::string> purposes = {"marketing", "operations", "reminders", "treatment"};
  // Campaign messages queued per recipient domain per minute, on each node (C6).
  int per_domain_per_minute = 600;
};

struct Config {
  // [server]
  std::string https_listen = "127.0.0.1:8443";
  std::string http_listen = "127.0.0.1:8080";
  std::string public_origin;       // e.g. "https://forms.example.org"; empty = from listener
  std::size_t threads = 0;         // event-loop threads; 0 = one per core
  std::size_t crypto_threads = 0;  // encryption workers; 0 = one per core
  // Load balancers whose word on the client address is believed (PROXY header,
  // X-Forwarded-For). Empty = none: the TCP peer is the client.
  std::vector<http::Cidr> trusted_proxies;
  // Connections from trusted_proxies start with a PROXY protocol v2 header (HAProxy's
  // send-proxy-v2). false: they are plain TLS and only X-Forwarded-For is read from them.
  bool proxy_protocol = true;
  // The admin listener (O3: /healthz, /readyz, /metrics, plain HTTP); empty = off. Only a
  // loopback address unless admin_listen_public (app/admin.hpp check_admin_listen).
  std::string admin_listen = "127.0.0.1:9090";
  bool admin_listen_public = false;
  // [tls]
  std::string tls_certificate_file;  // empty = DataDir's self-signed one
  std::string tls_private_key_file;
  http::TlsPolicy tls;
  // [limits]
  http::Limits limits;
  // [forms] token_max_age_seconds and [rate_limit]
  intake::Limits intake;
  // [store]
  // Which database: empty = SQLite, the file DIR/sealpost.db (one node); a postgresql://
  // URI = PostgreSQL, shared by every node. The URI never holds the password: that comes
  // from DIR/secrets/database-password, or libpq's own PGPASSFILE.
  std::string database;
  std::size_t database_pool = 8;  // pooled connections per node (1..256)
  // S4: also write each stored submission as REF.pgp into this directory (outside any web
  // root), for pickup by SFTP or a file share. Empty = off.
  std::string file_drop_dir;
  // [recovery]
  std::string recovery_key_fingerprint;  // S9: added to every form's recipients
  // [portal] (P2, P3): session timeouts, enrolment links, the lockout budget.
  portal::Limits portal;
  // [log]
  std::string log_level = "info";
  std::string log_format = "text";  // "text" or "json" (one object per line)
  // [abuse]: automatic blocks (F10).
  AbuseLimits abuse;
  // [mail]
  MailConfig mail;
  // [submission]
  SubmissionConfig submission;
  // [contacts]
  ContactsConfig contacts;
};

// Reads DIR/sealpost.toml. Unknown keys, wrong types and out-of-bounds values are errors
// with line and column; a TLS policy that allows anything weak is refused.
core::Result<Config> load_config(const DataDir& dir);

// What `serve` needs of the machine beyond the file's syntax: [store] file_drop_dir exists.
core::Status check_serve_paths(const Config& config);

// The commented file `sealpost init` writes.
// `database`: a postgresql:// URI to write as [store] database, or empty for SQLite.
std::string default_config_text(const std::string& database = {});

}  // namespace app
