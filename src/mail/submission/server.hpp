#pragma once
// The SMTP submission server (issue 9 point 5; RFC 6409, RFC 5321): the 587-style listener,
// where STARTTLS (RFC 3207) must come before AUTH and MAIL, and the 465-style listener with
// implicit TLS (RFC 8314). Boost.Asio, a strand per connection, one coroutine per session;
// every read has a deadline and a size limit (limits.hpp). What a session needs of the rest
// of sealpost (keys, the queue, the audit trail) is a Backend, run on the blocking pool.
// Trust: untrusted network input (every byte a client sends).

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/blocking_pool.hpp"
#include "core/result.hpp"
#include "core/secret.hpp"
#include "mail/mime/address.hpp"
#include "mail/submission/sasl.hpp"

namespace mail::submission {

enum class AuthResult {
  ok,           // 235 2.7.0
  refused,      // 535 5.7.8 after kAuthFailureDelay
  locked,       // 454 4.7.0: the lockout says wait
  forbidden,    // 535 5.7.8 too: the key lacks messages:send (the log says which)
  unavailable,  // 454 4.7.0: the store could not answer
};

struct Envelope {
  std::string key_id;  // the authenticated API key
  Address sender;      // MAIL FROM
  std::vector<Address> recipients;
};

// What a session asks of sealpost. Each _blocking method runs on the blocking pool, may be
// called from several sessions at once, and returns a whole SMTP reply line where it answers
// the client ("250 2.0.0 ..." without CRLF).
class Backend {
 public:
  virtual ~Backend() = default;
  // `credentials` nullptr: the client's response could not be decoded (it counts as a
  // failure). The key id through `key_id` when ok.
  virtual AuthResult authenticate_blocking(const Credentials* credentials,
                                           const std::string& remote_address,
                                           std::string& key_id) = 0;
  // Whether the key may start a transaction from `sender` (its allowed senders, its rate):
  // empty when it may, else the reply.
  virtual std::string mail_blocking(const std::string& key_id, const Address& sender) = 0;
  // Parses and queues the message; the reply (250 only once the message is committed).
  virtual std::string submit_blocking(const Envelope& envelope, core::SecretBytes& message,
                                      const std::string& remote_address) = 0;
};

struct ServerOptions {
  std::string listen;      // ADDR:PORT, 587-style (STARTTLS required); empty = off
  std::string tls_listen;  // ADDR:PORT, 465-style (implicit TLS); empty = off
  std::string hostname;    // in the greeting and the EHLO reply
};

class Server {
 public:
  // Everything passed must outlive the Server; `tls` is the HTTPS listener's context.
  Server(boost::asio::io_context& io, std::shared_ptr<boost::asio::ssl::context> tls,
         Backend& backend, core::BlockingPool& pool, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the configured listeners and starts accepting; one clear line on failure.
  core::Status start();
  std::uint16_t port() const;      // 0 when off
  std::uint16_t tls_port() const;  // 0 when off

  // No new connections; a session waiting for a command is told 421 and closed, one in a
  // transaction finishes it first.
  void drain();

  struct Shared;

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace mail::submission
