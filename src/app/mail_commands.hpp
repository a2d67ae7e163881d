#pragma once
// The outbound mail commands (issue 8): DKIM keys, sending, and reading the queue. Each
// returns the process exit code; errors print one line to stderr.

#include <optional>
#include <string>
#include <vector>

#include "app/config.hpp"
#include "app/data_dir.hpp"
#include "core/result.hpp"
#include "crypto/smime.hpp"
#include "mail/dkim/signer.hpp"
#include "mail/dns/options.hpp"
#include "mail/queue/tls_report.hpp"

namespace app {

// The EHLO name and Message-ID domain: [mail] hostname, else public_origin's host, else
// this machine's name.
std::string mail_hostname(const Config& config);

// What message-level encryption (issue 9) needs besides the server's OpenPGP key: the
// organisation's S/MIME signer (nullopt when [mail] smime_cert_file is not set) and the CA
// bundle recipient certificates chain to ("" when smime_ca_file is not set). Errors: a set
// file that cannot be read, or a certificate and key that do not belong together.
struct SmimeSetup {
  std::optional<crypto::SmimeSigner> signer;
  std::string ca_pem;
};
core::Result<SmimeSetup> load_smime_setup(const Config& config);
// The DKIM signer [mail] dkim_selector and dkim_domain (else default_sender's domain) name;
// a clear error when they are not set up (every message is signed).
core::Result<mail::dkim::Signer> load_mail_signer(const DataDir& dir, const Config& config);
// The resolver [mail] names: resolver, trust_anchor_file, dns_timeout.
mail::dns::ResolverOptions resolver_options(const Config& config);
// M9 (TLS-only forwarding): every distinct domain of `addresses` must pass TLS now
// (mail::queue::probe_tls_blocking: STARTTLS and a certificate verified by CA or DANE);
// prints one line per domain that passed, fails with the first that did not.
core::Status check_notify_tls(const Config& config, const std::vector<std::string>& addresses);

// `dkim init`: the key(s) under DIR/secrets/ and the DNS TXT record(s) to publish.
int run_dkim_init(const std::string& data_dir, const std::string& domain,
                  const std::string& selector, const std::string& algorithm);

struct SendRequest {
  std::string from;  // "" = [mail] default_sender
  std::vector<std::string> to;
  std::string subject;
  std::string body_file;
  std::string security;  // "" = [mail] default_policy
  bool phi = false;
};
// `mail send`: builds, DKIM-signs, seals and enqueues durably (committed with its audit
// entry), then prints the message id. A running `serve` delivers it.
int run_mail_send(const std::string& data_dir, const SendRequest& request);
// `mail show ID`: the message and where each recipient stands, with its last attempt.
int run_mail_show(const std::string& data_dir, const std::string& id);
// `mail check-dns`: whether SPF, the DKIM keys we sign with, and DMARC are published for
// the sending domain and agree with this server (M7); exit 1 with what to fix otherwise.
int run_mail_check_dns(const std::string& data_dir);
// `mail queue`: recipients by domain and state, with the oldest message's age.
int run_mail_queue(const std::string& data_dir);
// `mail cancel ID`: every recipient of the message still waiting becomes `dropped` (reply
// "cancelled by <user>"), audited as mail.cancel. A recipient a node is attempting at this
// moment is left; exit 1 says so (run it again).
int run_mail_cancel(const std::string& data_dir, const std::string& id);
// `mail revoke`: the secure-message portal copies of message ID not yet read can no longer be
// opened (410); audited secure_message.revoke.
int run_mail_revoke(const std::string& data_dir, const std::string& id);
// `mail reset-recipient --email E`: forgets the secure-message recipient account of E
// (password, authenticator); the next copy they open creates a new one (the one-time code to
// the address is then all it takes). Audited recipient.account_reset, naming the account's
// hash, never the address.
int run_mail_reset_recipient(const std::string& data_dir, const std::string& email);
// `mail prune`: erases the content of expired and revoked portal copies now (serve does it
// hourly), audited.
int run_mail_prune(const std::string& data_dir);
// `mail tls-report [--day D]`: sends the TLS reports (RFC 8460) of that UTC day (default
// yesterday; "today" reports the day so far) that no node has sent, and prints each
// domain's outcome. `serve` does the same for yesterday by itself.
int run_mail_tls_report(const std::string& data_dir, const std::string& day);
// Who we are in TLS reports: [mail] default_sender, its (or dkim_domain's) domain.
mail::queue::TlsReportOptions tls_report_options(const Config& config, std::string owner);

}  // namespace app
