#pragma once
// Trust: untrusted network input (a remote SMTP server), read through the bounded parsers
// of reply.hpp and capabilities.hpp.
//
// The SMTP client session: one connection to one MX address, carrying one or more
// transactions (RSET between them), with the TLS requirement enforced exactly. The queue
// decides where to connect and what TLS to require; this reports exactly what happened.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "mail/smtp/limits.hpp"
#include "mail/smtp/outcome.hpp"
#include "mail/smtp/tls.hpp"

namespace mail::smtp {

// Where and how to connect. The address comes from the caller's MX/A lookup.
struct Destination {
  boost::asio::ip::address address;
  std::uint16_t port = 25;
  std::string mx_host;    // the MX host name: SNI, the default reference name, logs
  std::string ehlo_name;  // our name in EHLO/HELO
  TlsRequirement tls;
  Timeouts timeouts;
};

// One transaction: an envelope and the message, already built and DKIM-signed.
struct Transaction {
  std::string sender;                   // the envelope sender; empty for a bounce (MAIL FROM:<>)
  std::vector<std::string> recipients;  // at most kMaxRecipientsPerTransaction
  // CRLF (or LF) line ends; dot-stuffed and CRLF-normalised here. Shared, not copied.
  std::shared_ptr<const std::string> message;
  // The headers need SMTPUTF8 (RFC 6532). Non-ASCII addresses set it on their own.
  bool smtputf8 = false;
  // A TLS probe (M9: an address is configured for notices only if its domain does TLS):
  // connect, EHLO, STARTTLS and the verification the destination requires, EHLO again,
  // then QUIT. Nothing is sent, so sender, recipients and message are not needed; the
  // report's `probe_passed` says whether the session got that far, its `tls` what it had.
  bool probe = false;
};

struct RecipientResult {
  std::string recipient;
  Status status;  // delivered only after a 2xx to the final "."
};

struct DeliveryReport {
  std::vector<RecipientResult> recipients;  // in the order of Transaction::recipients
  TlsRecord tls;                            // the connection's TLS, as far as it got
  bool reused_connection = false;           // this transaction ran on a connection opened before
  bool connection_usable = false;           // the session can take another transaction now
  bool probe_passed = false;                // Transaction::probe: everything up to MAIL passed
};

class Session {
 public:
  using Handler = std::function<void(DeliveryReport)>;

  // A session that connects on its first transaction. Its work runs on a strand of
  // `executor`; handlers are called on that strand.
  static std::shared_ptr<Session> create(boost::asio::any_io_executor executor,
                                         Destination destination);
  virtual ~Session() = default;

  // Delivers one transaction: the first connects (greeting, EHLO, STARTTLS, EHLO again),
  // later ones send RSET and reuse the connection. One at a time: call again only after
  // the handler ran, and only while usable(). Without a new transaction within
  // Timeouts::idle, the session QUITs.
  virtual void async_deliver(Transaction transaction, Handler handler) = 0;
  // Sends QUIT (when the connection is open and idle) and closes; `done` runs when closed.
  virtual void async_quit(std::function<void()> done) = 0;
  // Closes now; a transaction in progress ends with a temporary failure.
  virtual void cancel() = 0;
  // Whether async_deliver can run now: never connected, or idle on a healthy connection
  // that has carried fewer than kMaxTransactionsPerConnection transactions.
  virtual bool usable() const = 0;
};

}  // namespace mail::smtp
