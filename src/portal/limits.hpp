#pragma once
// Limits of the staff portal. Each has a safe default and the reason for it; those in
// `Limits` can be changed in sealpost.toml ([portal]) within the bounds checked by
// app/config, the constants cannot.

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace portal {

struct Limits {
  // Sessions (P2): a session unused this long ends; every session ends this long after
  // sign-in, however busy.
  std::chrono::seconds idle_timeout{15 * 60};
  std::chrono::seconds absolute_timeout{12 * 3600};
  // How long an enrolment link stays usable.
  std::chrono::seconds enrolment_link_lifetime{72 * 3600};
  // Lockout budget (P3): wrong passwords or codes before each further attempt must wait.
  // Per account: typos and a forgotten caps lock. Per client address: loose, because a
  // clinic behind one NAT address has many users (raise it for a bigger one).
  int account_free_failures = 3;
  int address_free_failures = 50;
};

// A burst of this many failures on one account within the lockout's alert window is worth an
// alert (an audit entry and a log line).
inline constexpr int kAccountAlertFailures = 5;

// Credential checks (passwords, codes, enrolment links) per client address, counted on the
// event loop before they take a blocking-pool thread that encryption also needs.
inline constexpr double kCredentialChecksPerMinute = 30;
inline constexpr double kCredentialChecksBurst = 20;

// JSON bodies: the largest is an enrolment key upload (an armored public key and a
// passphrase-protected private key, well under 60 KiB each in practice).
inline constexpr std::size_t kMaxJsonBody = 64 * 1024;
// Secure-message portal (issue 9): a one-time code lives 10 minutes (long enough for a slow
// mailbox, short against guessing), and a new one is mailed at most once a minute per copy
// (a link holder cannot flood the recipient).
inline constexpr std::int64_t kSecureCodeSeconds = 10 * 60;
inline constexpr std::int64_t kSecureCodeResendSeconds = 60;
// After a copy is opened, the page may send secure replies (and set up an authenticator)
// for this long, with the token the open answered; and at most this many replies per copy
// (a reply is a message to the sender: the bound keeps a link holder from flooding them).
inline constexpr std::int64_t kSecureReplyTokenSeconds = 30 * 60;
inline constexpr std::int64_t kMaxSecureReplies = 5;
// A secure reply's text: a letter, not a file (20 KiB is ~8 pages).
inline constexpr std::size_t kMaxSecureReplyBytes = 20 * 1024;
// Between the password and the code: long enough to find the phone.
inline constexpr std::int64_t kSecondFactorSeconds = 5 * 60;
// An enrolment in progress (password, authenticator, key).
inline constexpr std::int64_t kEnrollingSeconds = 60 * 60;
// last_seen_at is written at most this often per session: one write per request would make
// every read a write.
inline constexpr std::int64_t kTouchEverySeconds = 15;
// Rows per page of a list (submissions, audit entries): bounds one answer's size.
inline constexpr std::size_t kMaxPage = 500;
// Audit entries in one export: bounds the memory of one answer (~300 bytes an entry).
inline constexpr std::size_t kMaxAuditExport = 100000;
// Ciphertext bytes in one export batch (a form may allow 10 MiB submissions).
inline constexpr std::size_t kMaxExportBatchBytes = 32 << 20;

}  // namespace portal
