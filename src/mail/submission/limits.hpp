#pragma once
// Limits of the SMTP submission server (issue 9 point 5, RFC 6409). Each says why it is what
// it is. The timeouts are RFC 5321 §4.5.3.2's server minimums.

#include <chrono>
#include <cstddef>

#include "mail/mime/limits.hpp"

namespace mail::submission {

// RFC 5321 §4.5.3.1.4: a command line is at most 512 octets with its CRLF. An AUTH PLAIN
// initial response (base64 of "\0name\0key": a 64-byte name and an 84-byte key) is about
// 204 octets, so 512 holds it too.
inline constexpr std::size_t kMaxCommandLineBytes = 512;
// RFC 5321 §4.5.3.1.6: a text line in DATA is at most 998 octets before its CRLF.
inline constexpr std::size_t kMaxDataLineBytes = 998;
// The largest message accepted (SIZE). Submitted mail is rebuilt from its text/plain body
// (mime::kMaxBodyBytes at most); 10 MiB of message is far above a clinic's letters and
// bounds what one session makes us hold.
inline constexpr std::size_t kMaxMessageBytes = 10 * 1024 * 1024;
// After a refusal in DATA (too large, a long line, a bare LF) the rest of the data is read
// and thrown away up to the final "."; a client that sends more than this is cut off.
inline constexpr std::size_t kMaxDiscardedBytes = 2 * kMaxMessageBytes;
// Recipients of one transaction: the HTTP API's (mime::kMaxRecipients, RFC 5321
// §4.5.3.1.8's minimum of 100).
inline constexpr std::size_t kMaxRecipients = mime::kMaxRecipients;
// Header fields of a submitted message, and the header block's size: a mail client writes
// about twenty; more is not a letter.
inline constexpr std::size_t kMaxHeaderFields = 200;
inline constexpr std::size_t kMaxHeaderBytes = 64 * 1024;
// Wrong commands in one session before it is closed (421): a client that speaks something
// else, or probes, is not given the connection for ever. Postfix's smtpd_hard_error_limit
// is 20.
inline constexpr std::size_t kMaxErrors = 20;
// Transactions (MAIL) in one session: a client queues many messages on one connection, but
// not without end (the rate limit per key is the real bound).
inline constexpr std::size_t kMaxTransactions = 1000;
// Failed AUTH attempts in one session before it is closed (421): the lockout counts them
// across sessions too.
inline constexpr std::size_t kMaxAuthFailures = 3;
// Each failed AUTH is answered only after this delay, so guessing costs the guesser time;
// auth::Lockout's doubling delay (the HTTP API's, kFreeAuthFailures free) comes on top.
inline constexpr std::chrono::seconds kAuthFailureDelay{1};
// RFC 5321 §4.5.3.2.7: the server waits at least 5 minutes for the next command or data
// block. The TLS handshake (implicit or after STARTTLS) gets the same.
inline constexpr std::chrono::seconds kCommandTimeout{300};
// RFC 5321 §4.5.3.2.6 gives the client 10 minutes for our reply after "."; the whole DATA
// phase of one message may take no longer than this.
inline constexpr std::chrono::seconds kDataTimeout{600};
// Sessions at once on this node, and from one client address: a single client cannot hold
// every slot.
inline constexpr std::size_t kMaxConnections = 256;
inline constexpr std::size_t kMaxConnectionsPerAddress = 16;
// The read buffer grows by at most this much per read.
inline constexpr std::size_t kReadChunkBytes = 16 * 1024;
// Messages per API key ([submission] messages_per_minute / messages_burst): a token bucket
// taken at each MAIL, per node in memory and, on PostgreSQL, once more in the database for
// all nodes together. A practice system's morning reminders fit the burst; a stolen key
// cannot turn the clinic's domain into a spam source at line rate.
inline constexpr double kMessagesPerMinutePerKey = 60;
inline constexpr double kMessagesBurstPerKey = 120;
// [submission] secure_marker: a short token in a subject.
inline constexpr std::size_t kMaxSecureMarkerBytes = 32;

}  // namespace mail::submission
