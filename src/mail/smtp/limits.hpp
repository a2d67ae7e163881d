#pragma once
// Limits of the SMTP client. Each has a safe default and the reason for it. The timeouts are
// RFC 5321 §4.5.3.2's minimums (a client SHOULD wait at least this long); tests shorten them.

#include <chrono>
#include <cstddef>

namespace mail::smtp {

// Time allowed for each step of a session. An expired deadline is a temporary failure.
struct Timeouts {
  // TCP connect: not in RFC 5321; 30 s is Postfix's smtp_connect_timeout.
  std::chrono::milliseconds connect{std::chrono::seconds(30)};
  // RFC 5321 §4.5.3.2.1: initial 220 message, 5 minutes.
  std::chrono::milliseconds greeting{std::chrono::minutes(5)};
  // EHLO/HELO, STARTTLS, RSET and QUIT replies: RFC 5321 names none; Postfix uses 300 s
  // (smtp_helo_timeout) and we keep the MAIL timeout's five minutes.
  std::chrono::milliseconds command{std::chrono::minutes(5)};
  // The TLS handshake after STARTTLS: Postfix's smtp_starttls_timeout is 300 s.
  std::chrono::milliseconds tls_handshake{std::chrono::minutes(5)};
  // RFC 5321 §4.5.3.2.2: MAIL command, 5 minutes.
  std::chrono::milliseconds mail{std::chrono::minutes(5)};
  // RFC 5321 §4.5.3.2.3: each RCPT command, 5 minutes.
  std::chrono::milliseconds rcpt{std::chrono::minutes(5)};
  // RFC 5321 §4.5.3.2.4: DATA initiation (the 354), 2 minutes.
  std::chrono::milliseconds data_init{std::chrono::minutes(2)};
  // RFC 5321 §4.5.3.2.5: each data block (one write of kDataBlockBytes), 3 minutes.
  std::chrono::milliseconds data_block{std::chrono::minutes(3)};
  // RFC 5321 §4.5.3.2.6: the reply to the final ".", 10 minutes.
  std::chrono::milliseconds data_end{std::chrono::minutes(10)};
  // How long a connection may wait, idle, for the next transaction to the same destination
  // before we QUIT. Short: an idle connection holds a slot on the receiver (Postfix's
  // smtp_connection_cache_time_limit is 2 s).
  std::chrono::milliseconds idle{std::chrono::seconds(2)};
};

// RFC 5321 §4.5.3.1.5 limits a reply line to 512 bytes with CRLF. Real servers exceed it
// (long enhanced-status texts, banners); Postfix reads up to 2048 (line_length_limit), so
// we tolerate that and no more.
inline constexpr std::size_t kMaxReplyLineBytes = 2048;
// A multi-line reply (EHLO lists ~10-20 extensions) never needs more than 100 lines.
inline constexpr std::size_t kMaxReplyLines = 100;
// All lines of one reply together: bounds what one reply can make us hold.
inline constexpr std::size_t kMaxReplyBytes = 16 * 1024;
// The read buffer: one whole reply plus what a pipelining server may send after it
// (replies to MAIL, every RCPT and DATA of one transaction).
inline constexpr std::size_t kReadBufferBytes = 64 * 1024;
// Reply text kept per recipient for the log and the bounce, after sanitising.
inline constexpr std::size_t kMaxReportedReplyText = 512;
// Recipients in one transaction: RFC 5321 §4.5.3.1.8 makes servers accept at least 100;
// the queue splits larger lists into several transactions.
inline constexpr std::size_t kMaxRecipientsPerTransaction = 100;
// An address on the wire: RFC 5321 §4.5.3.1.3 limits a path to 256 bytes.
inline constexpr std::size_t kMaxPathBytes = 256;
// Transactions on one connection before we close it and open a new one (Postfix's
// smtp_connection_reuse_count_limit is unbounded by default; we keep it finite).
inline constexpr std::size_t kMaxTransactionsPerConnection = 100;
// The message body is written in blocks of this size, each with the data_block deadline.
inline constexpr std::size_t kDataBlockBytes = 64 * 1024;
// The largest message we send at all: the MIME builder's limit with room to spare.
inline constexpr std::size_t kMaxMessageBytes = 64 * 1024 * 1024;

}  // namespace mail::smtp
