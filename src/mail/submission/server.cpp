// Trust: untrusted network input (every byte a client sends).
//
// SECURITY: this file faces the network. Each session runs on its own strand; every read
// has a deadline (a watchdog closes the socket when it passes) and a size limit. Before TLS
// only EHLO/HELO, STARTTLS, NOOP, RSET and QUIT do anything: AUTH and MAIL are refused, so
// no credential and no message ever crosses the network in clear. Whatever a client
// pipelined behind STARTTLS is thrown away before the handshake (RFC 3207 §4.2; the
// "STARTTLS command injection" of CVE-2011-0411). Only CRLF.CRLF ends DATA (data.hpp). A
// reply never echoes what the client sent, and never carries library or database text.
#include "mail/submission/server.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cctype>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "core/log.hpp"
#include "mail/submission/command.hpp"
#include "mail/submission/data.hpp"
#include "mail/submission/limits.hpp"

namespace mail::submission {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using boost::system::error_code;
using net::awaitable;

class Session;

struct Server::Shared {
  net::io_context& io;
  std::shared_ptr<net::ssl::context> tls;
  Backend& backend;
  core::BlockingPool& pool;
  ServerOptions options;
  std::optional<tcp::acceptor> plain;
  std::optional<tcp::acceptor> implicit;
  std::uint16_t plain_port = 0;
  std::uint16_t implicit_port = 0;
  std::atomic<bool> draining{false};

  std::mutex mutex;  // guards the three below
  std::size_t connections = 0;
  std::unordered_map<std::string, std::size_t> per_address;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;

  Shared(net::io_context& io_, std::shared_ptr<net::ssl::context> tls_, Backend& backend_,
         core::BlockingPool& pool_, ServerOptions options_)
      : io(io_),
        tls(std::move(tls_)),
        backend(backend_),
        pool(pool_),
        options(std::move(options_)) {}

  bool take_slot(const std::string& address) {
    std::lock_guard lock(mutex);
    auto& n = per_address[address];
    if (connections >= kMaxConnections || n >= kMaxConnectionsPerAddress) {
      if (n == 0) per_address.erase(address);
      return false;
    }
    ++connections;
    ++n;
    return true;
  }
  void release_slot(const std::string& address) {
    std::lock_guard lock(mutex);
    --connections;
    auto it = per_address.find(address);
    if (it != per_address.end() && --it->second == 0) per_address.erase(it);
  }
};

namespace {

// g++ 12 destroys a non-trivial temporary inside a co_await expression twice (a string built
// in the argument, a lambda with captures): such values are named locals here, and only
// trivially destructible temporaries (string_views, pointers) appear in co_await operands.

// Runs `fn` on the blocking pool and resumes the coroutine on its own executor with the
// result; nullopt when the pool refused the job (full or stopping).
template <typename T, typename Fn>
awaitable<std::optional<T>> on_pool(core::BlockingPool& pool, Fn fn) {
  auto executor = co_await net::this_coro::executor;
  const auto initiate = [&pool, executor](auto handler, Fn work) {
    // The handler is completed on the session's executor, and its last reference goes
    // with the completion (moved, never copied, out of the pool's thread).
    auto h = std::make_shared<decltype(handler)>(std::move(handler));
    const bool posted = pool.post([h, executor, work = std::move(work)]() mutable {
      std::optional<T> result(work());
      net::post(executor, [h = std::move(h), result = std::move(result)]() mutable {
        auto local = std::move(*h);
        std::move(local)(std::move(result));
      });
    });
    if (!posted) {
      net::post(executor, [h = std::move(h)]() mutable {
        auto local = std::move(*h);
        std::move(local)(std::optional<T>{});
      });
    }
  };
  auto result = co_await net::async_initiate<decltype(net::use_awaitable), void(std::optional<T>)>(
      initiate, net::use_awaitable, std::move(fn));
  co_return result;
}

constexpr std::string_view kTempFailure = "451 4.3.0 Temporary failure; try again later";

}  // namespace

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<Server::Shared> shared, tcp::socket socket, bool implicit_tls,
          std::string remote)
      : shared_(std::move(shared)),
        socket_(std::move(socket)),
        timer_(socket_.get_executor()),
        implicit_(implicit_tls),
        remote_(std::move(remote)) {
    timer_.expires_at(net::steady_timer::time_point::max());
  }

  ~Session() {
    wipe_buffer();
    shared_->release_slot(remote_);
  }

  awaitable<void> run() {
    auto self = shared_from_this();
    net::co_spawn(socket_.get_executor(), watchdog(), net::detached);
    if (implicit_) {
      const bool ok = co_await handshake();
      if (!ok) {
        finish();
        co_return;
      }
    }
    const std::string greeting = "220 " + shared_->options.hostname + " ESMTP sealpost";
    const bool ok = co_await reply(greeting);
    if (ok) {
      co_await commands();
    }
    finish();
  }

  // On the session's strand: a session waiting for a command is told 421 and closed.
  void stop() {
    stopping_ = true;
    // A session idle between commands, or still in its TLS handshake, is cut short; one in
    // a transaction finishes it (its reads keep their deadlines).
    if (waiting_for_command_ || handshaking_) {
      error_code ec;
      socket_.cancel(ec);
    }
  }

 private:
  // -- I/O ---------------------------------------------------------------------------

  awaitable<void> watchdog() {
    auto self = shared_from_this();
    while (!closed_) {
      error_code ec;
      co_await timer_.async_wait(net::redirect_error(net::use_awaitable, ec));
      if (closed_) break;
      if (timer_.expiry() <= std::chrono::steady_clock::now()) {
        spdlog::info("event=submission_timeout source={}", core::log_safe(remote_));
        close();
        break;
      }
    }
  }

  void set_deadline(std::chrono::seconds timeout) { timer_.expires_after(timeout); }
  void clear_deadline() { timer_.expires_at(net::steady_timer::time_point::max()); }

  void close() {
    error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }

  void finish() {
    closed_ = true;
    timer_.cancel();
    close();
    wipe_buffer();
  }

  void wipe_buffer() {
    if (!buffer_.empty()) core::secure_wipe(buffer_.data(), buffer_.size());
    buffer_.clear();
    core::secure_wipe(chunk_.data(), chunk_.size());
  }

  awaitable<bool> handshake() {
    set_deadline(kCommandTimeout);
    tls_.emplace(socket_, *shared_->tls);
    error_code ec;
    handshaking_ = true;
    co_await tls_->async_handshake(net::ssl::stream_base::server,
                                   net::redirect_error(net::use_awaitable, ec));
    handshaking_ = false;
    clear_deadline();
    if (ec) {
      spdlog::info("event=submission_tls_failed source={}", core::log_safe(remote_));
      co_return false;
    }
    co_return true;
  }

  // Writes one reply (a line without CRLF, or several joined by "\r\n").
  awaitable<bool> reply(std::string_view text) {
    std::string out(text);
    out += "\r\n";
    set_deadline(kCommandTimeout);
    error_code ec;
    if (tls_) {
      co_await net::async_write(*tls_, net::buffer(out),
                                net::redirect_error(net::use_awaitable, ec));
    } else {
      co_await net::async_write(socket_, net::buffer(out),
                                net::redirect_error(net::use_awaitable, ec));
    }
    clear_deadline();
    co_return !ec;
  }

  // Reads more bytes into buffer_. `reset_deadline`: a fresh kCommandTimeout for this read
  // (in DATA the deadline is the whole phase's).
  awaitable<bool> fill(bool reset_deadline) {
    if (reset_deadline) set_deadline(kCommandTimeout);
    error_code ec;
    std::size_t n = 0;
    if (tls_) {
      n = co_await tls_->async_read_some(net::buffer(chunk_),
                                         net::redirect_error(net::use_awaitable, ec));
    } else {
      n = co_await socket_.async_read_some(net::buffer(chunk_),
                                           net::redirect_error(net::use_awaitable, ec));
    }
    if (reset_deadline) clear_deadline();
    if (ec) co_return false;
    buffer_.append(chunk_.data(), n);
    co_return true;
  }

  enum class LineStatus { ok, closed, too_long };
  // One line without its line end (CRLF, or a bare LF: a command line is not message
  // content), at most `max` bytes.
  awaitable<LineStatus> read_line(std::string& line, std::size_t max) {
    for (;;) {
      const auto eol = buffer_.find('\n');
      if (eol != std::string::npos) {
        std::size_t end = eol;
        if (end > 0 && buffer_[end - 1] == '\r') --end;
        if (end > max) co_return LineStatus::too_long;
        line.assign(buffer_, 0, end);
        buffer_.erase(0, eol + 1);
        co_return LineStatus::ok;
      }
      if (buffer_.size() > max + 1) co_return LineStatus::too_long;
      const bool ok = co_await fill(true);
      if (!ok) co_return LineStatus::closed;
    }
  }

  // -- the dialogue ------------------------------------------------------------------

  void reset_transaction() {
    sender_.reset();
    recipients_.clear();
    eight_bit_ = false;
  }

  // A 5xx for a wrong command: true while the session may go on.
  awaitable<bool> error_reply(std::string_view text) {
    const bool ok = co_await reply(text);
    if (!ok) co_return false;
    if (++errors_ >= kMaxErrors) {
      co_await reply("421 4.7.0 Too many errors; closing the connection");
      co_return false;
    }
    co_return true;
  }

  std::string ehlo_reply() const {
    std::vector<std::string> lines = {shared_->options.hostname, "PIPELINING",
                                      "SIZE " + std::to_string(kMaxMessageBytes), "8BITMIME",
                                      "ENHANCEDSTATUSCODES"};
    // RFC 3207 §4.2 / RFC 4954 §4: STARTTLS only before TLS, AUTH only after it.
    lines.push_back(tls_ ? "AUTH PLAIN LOGIN" : "STARTTLS");
    std::string r;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      r += (i + 1 < lines.size() ? "250-" : "250 ") + lines[i];
      if (i + 1 < lines.size()) r += "\r\n";
    }
    return r;
  }

  awaitable<void> commands() {
    std::string line;
    for (;;) {
      if (stopping_ && buffer_.find('\n') == std::string::npos) {
        co_await reply("421 4.3.2 Service shutting down");
        co_return;
      }
      waiting_for_command_ = true;
      const auto status = co_await read_line(line, kMaxCommandLineBytes);
      waiting_for_command_ = false;
      if (status == LineStatus::closed) {
        if (stopping_) co_await reply("421 4.3.2 Service shutting down");
        co_return;
      }
      if (status == LineStatus::too_long) {
        co_await reply("500 5.5.2 Line too long; closing the connection");
        co_return;
      }
      const auto command = parse_command(line);
      if (!command) {
        const bool ok = co_await error_reply("500 5.5.2 Syntax error");
        if (!ok) co_return;
        continue;
      }
      const bool ok = co_await dispatch(*command);
      if (!ok) co_return;
    }
  }

  // false: the session ends.
  // false: the session ends. (An if-chain, not a switch: g++ 12 miscompiles co_await in
  // switch cases.)
  awaitable<bool> dispatch(const Command& command) {
    bool go_on = false;
    const Verb verb = command.verb;
    if (verb == Verb::ehlo || verb == Verb::helo) {
      if (command.argument.empty() || command.argument.find(' ') != std::string_view::npos) {
        go_on = co_await error_reply("501 5.5.4 Syntax: EHLO hostname");
      } else {
        reset_transaction();
        greeted_ = true;
        const std::string text =
            verb == Verb::helo ? "250 " + shared_->options.hostname : ehlo_reply();
        go_on = co_await reply(text);
      }
    } else if (verb == Verb::starttls) {
      go_on = co_await starttls(command);
    } else if (verb == Verb::auth) {
      go_on = co_await auth(command);
    } else if (verb == Verb::mail) {
      go_on = co_await mail(command);
    } else if (verb == Verb::rcpt) {
      go_on = co_await rcpt(command);
    } else if (verb == Verb::data) {
      go_on = co_await data(command);
    } else if (verb == Verb::rset) {
      reset_transaction();
      go_on = co_await reply("250 2.0.0 Ok");
    } else if (verb == Verb::noop) {
      go_on = co_await reply("250 2.0.0 Ok");
    } else if (verb == Verb::quit) {
      co_await reply("221 2.0.0 Bye");
      go_on = false;
    } else if (verb == Verb::vrfy) {
      go_on = co_await reply("252 2.5.0 Cannot VRFY user");
    } else if (verb == Verb::help) {
      go_on = co_await reply("214 2.0.0 See RFC 5321 and RFC 6409");
    } else if (verb == Verb::bdat) {
      go_on = co_await error_reply("502 5.5.1 BDAT is not offered");
    } else {
      go_on = co_await error_reply("500 5.5.2 Command not recognized");
    }
    co_return go_on;
  }

  awaitable<bool> starttls(const Command& command) {
    if (tls_) {
      const bool r = co_await error_reply("503 5.5.1 TLS is already active");
      co_return r;
    }
    if (!command.argument.empty()) {
      const bool r = co_await error_reply("501 5.5.4 Syntax: STARTTLS");
      co_return r;
    }
    const bool ok = co_await reply("220 2.0.0 Ready to start TLS");
    if (!ok) co_return false;
    // RFC 3207 §4.2: nothing the client sent before the handshake is kept.
    wipe_buffer();
    const bool secured = co_await handshake();
    if (!secured) co_return false;
    // RFC 3207 §4.2: forget everything learnt before TLS; the client says EHLO again.
    greeted_ = false;
    reset_transaction();
    co_return true;
  }

  awaitable<bool> auth(const Command& command) {
    if (!tls_) {
      const bool r = co_await error_reply("530 5.7.0 Must issue a STARTTLS command first");
      co_return r;
    }
    if (!greeted_) {
      const bool r = co_await error_reply("503 5.5.1 Send EHLO first");
      co_return r;
    }
    if (key_id_) {
      const bool r = co_await error_reply("503 5.5.1 Already authenticated");
      co_return r;
    }
    if (sender_) {
      const bool r = co_await error_reply("503 5.5.1 AUTH not allowed during a transaction");
      co_return r;
    }
    const std::string_view arg = command.argument;
    const auto space = arg.find(' ');
    std::string mechanism(arg.substr(0, space));
    for (auto& c : mechanism) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    const std::string initial(space == std::string_view::npos ? "" : arg.substr(space + 1));

    std::optional<Credentials> credentials;
    std::string line;
    if (mechanism == "PLAIN") {
      std::string response = initial;
      if (response.empty()) {
        const bool ok = co_await reply("334 ");
        if (!ok) co_return false;
        const LineStatus read = co_await read_line(response, kMaxCommandLineBytes);
        if (read != LineStatus::ok) co_return false;
      }
      if (is_cancel(response)) {
        const bool r = co_await error_reply("501 5.7.0 Authentication cancelled");
        co_return r;
      }
      // RFC 4954 §4: "=" is an empty initial response.
      credentials = decode_plain(response == "=" ? std::string_view{} : response);
      core::secure_wipe(response.data(), response.size());
    } else if (mechanism == "LOGIN") {
      std::string user = initial;
      if (user.empty()) {
        const bool asked = co_await reply("334 VXNlcm5hbWU6");  // "Username:"
        if (!asked) co_return false;
        const LineStatus read = co_await read_line(user, kMaxCommandLineBytes);
        if (read != LineStatus::ok) co_return false;
      }
      if (is_cancel(user)) {
        const bool r = co_await error_reply("501 5.7.0 Authentication cancelled");
        co_return r;
      }
      const bool asked = co_await reply("334 UGFzc3dvcmQ6");  // "Password:"
      if (!asked) co_return false;
      std::string password;
      const LineStatus read = co_await read_line(password, kMaxCommandLineBytes);
      if (read != LineStatus::ok) co_return false;
      if (is_cancel(password)) {
        {
          const bool r = co_await error_reply("501 5.7.0 Authentication cancelled");
          co_return r;
        }
      }
      auto name = decode_login_field(user);
      auto key = decode_login_field(password);
      core::secure_wipe(password.data(), password.size());
      if (name && key) {
        credentials = Credentials{std::string(name->as_string_view()), std::move(*key)};
      }
    } else {
      {
        const bool r = co_await error_reply("504 5.5.4 Unrecognized authentication mechanism");
        co_return r;
      }
    }

    auto& backend = shared_->backend;
    const std::string remote = remote_;
    const auto check = [&backend, remote, c = credentials ? &*credentials : nullptr] {
      std::string key_id;
      const auto r = backend.authenticate_blocking(c, remote, key_id);
      return std::pair{r, key_id};
    };
    auto outcome = co_await on_pool<std::pair<AuthResult, std::string>>(shared_->pool, check);
    credentials.reset();
    if (!outcome) {
      const bool r = co_await reply("454 4.7.0 Temporary authentication failure");
      co_return r;
    }
    if (outcome->first == AuthResult::ok) {
      key_id_ = outcome->second;
      const bool r = co_await reply("235 2.7.0 Authentication successful");
      co_return r;
    }
    if (outcome->first == AuthResult::unavailable) {
      const bool r = co_await reply("454 4.7.0 Temporary authentication failure");
      co_return r;
    }
    // A wrong credential is answered late, so that guessing costs the guesser time.
    net::steady_timer delay(socket_.get_executor(), kAuthFailureDelay);
    error_code ec;
    co_await delay.async_wait(net::redirect_error(net::use_awaitable, ec));
    if (outcome->first == AuthResult::locked) {
      co_await reply("454 4.7.0 Too many failed authentications; try again later");
      co_return false;
    }
    const bool ok = co_await reply("535 5.7.8 Authentication credentials invalid");
    if (!ok) co_return false;
    if (++auth_failures_ >= kMaxAuthFailures) {
      co_await reply("421 4.7.0 Too many failed authentications; closing the connection");
      co_return false;
    }
    co_return true;
  }

  awaitable<bool> mail(const Command& command) {
    if (!tls_) {
      const bool r = co_await error_reply("530 5.7.0 Must issue a STARTTLS command first");
      co_return r;
    }
    if (!key_id_) {
      const bool r = co_await error_reply("530 5.7.0 Authentication required");
      co_return r;
    }
    if (sender_) {
      const bool r = co_await error_reply("503 5.5.1 Nested MAIL command");
      co_return r;
    }
    if (transactions_ >= kMaxTransactions) {
      co_await reply("421 4.7.0 Too many messages on one connection; reconnect");
      co_return false;
    }
    auto parsed = parse_mail_from(command.argument);
    if (!parsed) {
      const PathError e = parsed.error();
      const bool r =
          co_await error_reply(e == PathError::syntax    ? "501 5.5.4 Syntax: MAIL FROM:<address>"
                               : e == PathError::address ? "501 5.1.7 Bad sender address syntax"
                                                         : "555 5.5.4 Unsupported MAIL parameter");
      co_return r;
    }
    if (parsed->size && *parsed->size > kMaxMessageBytes) {
      {
        const bool r = co_await reply("552 5.3.4 Message size exceeds fixed maximum message size");
        co_return r;
      }
    }
    auto sender = Address::parse(parsed->address);
    if (!sender) {
      const bool r = co_await error_reply("501 5.1.7 Bad sender address syntax");
      co_return r;
    }
    auto& backend = shared_->backend;
    const auto check = [&backend, key = *key_id_, s = *sender] {
      return backend.mail_blocking(key, s);
    };
    auto refusal = co_await on_pool<std::string>(shared_->pool, check);
    if (!refusal) {
      const bool r = co_await reply(kTempFailure);
      co_return r;
    }
    if (!refusal->empty()) {
      const bool r = co_await reply(*refusal);
      co_return r;
    }
    sender_ = std::move(*sender);
    eight_bit_ = parsed->eight_bit_mime;
    ++transactions_;
    {
      const bool r = co_await reply("250 2.1.0 Ok");
      co_return r;
    }
  }

  awaitable<bool> rcpt(const Command& command) {
    if (!sender_) {
      const bool r = co_await error_reply("503 5.5.1 Need MAIL command");
      co_return r;
    }
    auto parsed = parse_rcpt_to(command.argument);
    if (!parsed) {
      const PathError e = parsed.error();
      const bool r =
          co_await error_reply(e == PathError::syntax    ? "501 5.5.4 Syntax: RCPT TO:<address>"
                               : e == PathError::address ? "501 5.1.3 Bad recipient address syntax"
                                                         : "555 5.5.4 Unsupported RCPT parameter");
      co_return r;
    }
    auto address = Address::parse(*parsed);
    if (!address) {
      const bool r = co_await error_reply("501 5.1.3 Bad recipient address syntax");
      co_return r;
    }
    if (recipients_.size() >= kMaxRecipients) {
      {
        const bool r = co_await reply("452 4.5.3 Too many recipients");
        co_return r;
      }
    }
    recipients_.push_back(std::move(*address));
    {
      const bool r = co_await reply("250 2.1.5 Ok");
      co_return r;
    }
  }

  awaitable<bool> data(const Command& command) {
    if (!command.argument.empty()) {
      const bool r = co_await error_reply("501 5.5.4 Syntax: DATA");
      co_return r;
    }
    if (!sender_) {
      const bool r = co_await error_reply("503 5.5.1 Need MAIL command");
      co_return r;
    }
    if (recipients_.empty()) {
      const bool r = co_await error_reply("554 5.5.1 No valid recipients");
      co_return r;
    }
    const bool ok = co_await reply("354 End data with <CR><LF>.<CR><LF>");
    if (!ok) co_return false;

    DataReader reader(kMaxMessageBytes, eight_bit_);
    set_deadline(kDataTimeout);
    for (;;) {
      const std::size_t used = reader.feed(buffer_);
      core::secure_wipe(buffer_.data(), used);
      buffer_.erase(0, used);
      if (reader.done()) break;
      // A client that goes away in DATA leaves nothing behind: nothing was queued.
      const bool ok = co_await fill(false);
      if (!ok) {
        clear_deadline();
        spdlog::info("event=submission_data_aborted key={} source={}", *key_id_,
                     core::log_safe(remote_));
        co_return false;
      }
    }
    clear_deadline();
    Envelope envelope{.key_id = *key_id_, .sender = *sender_, .recipients = recipients_};
    reset_transaction();
    if (reader.error() != DataError::none) {
      const DataError e = reader.error();
      const char* text =
          e == DataError::line_too_long ? "500 5.5.6 A line is longer than 998 octets (RFC 5321)"
          : e == DataError::bare_line_end
              ? "554 5.6.0 Bare CR or LF, or NUL, in the message; lines end with CRLF (RFC "
                "5321 2.3.8)"
          : e == DataError::eight_bit ? "554 5.6.1 8-bit data needs MAIL FROM with BODY=8BITMIME"
                                      : "552 5.3.4 Message size exceeds fixed maximum message size";
      const bool r = co_await reply(text);
      // Past kMaxDiscardedBytes the client is not listening: the session ends.
      co_return r&& e != DataError::discard_limit;
    }
    auto& backend = shared_->backend;
    const std::string remote = remote_;
    core::SecretBytes* message = &reader.message();
    const auto submit = [&backend, &envelope, message, remote] {
      return backend.submit_blocking(envelope, *message, remote);
    };
    auto answer = co_await on_pool<std::string>(shared_->pool, submit);
    reader.message().wipe();
    if (!answer) {
      const bool r = co_await reply(kTempFailure);
      co_return r;
    }
    {
      const bool r = co_await reply(*answer);
      co_return r;
    }
  }

  std::shared_ptr<Server::Shared> shared_;
  tcp::socket socket_;
  std::optional<net::ssl::stream<tcp::socket&>> tls_;
  net::steady_timer timer_;
  const bool implicit_;
  const std::string remote_;
  std::string buffer_;
  std::array<char, kReadChunkBytes> chunk_{};
  bool closed_ = false;
  bool stopping_ = false;
  bool waiting_for_command_ = false;
  bool handshaking_ = false;
  bool greeted_ = false;
  std::optional<std::string> key_id_;
  std::optional<Address> sender_;
  std::vector<Address> recipients_;
  bool eight_bit_ = false;
  std::size_t errors_ = 0;
  std::size_t auth_failures_ = 0;
  std::size_t transactions_ = 0;

  friend class Server;

 public:
  tcp::socket::executor_type executor() { return socket_.get_executor(); }
};

namespace {

// A coroutine's parameters live in its frame (a lambda's captures would not).
awaitable<void> run_session(std::shared_ptr<Server::Shared> shared,
                            std::shared_ptr<Session> session) {
  co_await session->run();
  std::lock_guard lock(shared->mutex);
  shared->sessions.erase(session.get());
}

awaitable<void> accept_loop(std::shared_ptr<Server::Shared> shared, tcp::acceptor& acceptor,
                            bool implicit_tls) {
  for (;;) {
    tcp::socket socket(net::make_strand(shared->io));
    error_code ec;
    co_await acceptor.async_accept(socket, net::redirect_error(net::use_awaitable, ec));
    if (shared->draining) co_return;
    if (ec) {
      if (ec == net::error::operation_aborted) co_return;
      // EMFILE and the like: wait a moment instead of spinning.
      spdlog::warn("event=submission_accept_failed detail={}", core::log_safe(ec.message()));
      net::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(100));
      co_await pause.async_wait(net::redirect_error(net::use_awaitable, ec));
      continue;
    }
    error_code peer_ec;
    const auto peer = socket.remote_endpoint(peer_ec);
    if (peer_ec) continue;
    auto address = peer.address();
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
      address = net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6());
    }
    std::string remote = address.to_string();
    if (!shared->take_slot(remote)) {
      spdlog::warn("event=submission_refused reason=connections source={}", remote);
      error_code ignored;
      static constexpr std::string_view kBusy = "421 4.7.0 Too many connections\r\n";
      net::write(socket, net::buffer(kBusy), ignored);
      socket.close(ignored);
      continue;
    }
    auto session = std::make_shared<Session>(shared, std::move(socket), implicit_tls, remote);
    {
      std::lock_guard lock(shared->mutex);
      shared->sessions.emplace(session.get(), session);
    }
    // drain() may have listed the sessions just before this one joined: it stops itself.
    if (shared->draining) session->stop();
    auto executor = session->executor();
    net::co_spawn(executor, run_session(shared, std::move(session)), net::detached);
  }
}

core::Result<tcp::endpoint> parse_listen(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) {
    return core::fail(core::ErrorKind::invalid_input,
                      "submission listen address " + core::log_safe(text) + " is not ADDR:PORT");
  }
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  error_code ec;
  const auto address = net::ip::make_address(host, ec);
  unsigned long port = 0;
  try {
    std::size_t used = 0;
    port = std::stoul(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1) port = 65536;
  } catch (const std::exception&) {
    port = 65536;
  }
  if (ec || port > 65535) {
    return core::fail(core::ErrorKind::invalid_input,
                      "submission listen address " + core::log_safe(text) + " is not ADDR:PORT");
  }
  return tcp::endpoint(address, static_cast<std::uint16_t>(port));
}

core::Result<std::uint16_t> open_listener(net::io_context& io,
                                          std::optional<tcp::acceptor>& acceptor,
                                          const std::string& listen) {
  auto endpoint = parse_listen(listen);
  if (!endpoint) return core::fail(std::move(endpoint).error());
  acceptor.emplace(net::make_strand(io));
  error_code ec;
  acceptor->open(endpoint->protocol(), ec);
  if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor->bind(*endpoint, ec);
  if (!ec) acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return core::fail(
        core::ErrorKind::unavailable,
        "cannot listen for submission on " + core::log_safe(listen) + ": " + ec.message());
  }
  return acceptor->local_endpoint().port();
}

}  // namespace

Server::Server(net::io_context& io, std::shared_ptr<net::ssl::context> tls, Backend& backend,
               core::BlockingPool& pool, ServerOptions options)
    : shared_(std::make_shared<Shared>(io, std::move(tls), backend, pool, std::move(options))) {}

Server::~Server() = default;

core::Status Server::start() {
  if (!shared_->options.listen.empty()) {
    auto port = open_listener(shared_->io, shared_->plain, shared_->options.listen);
    if (!port) return core::fail(std::move(port).error());
    shared_->plain_port = *port;
    net::co_spawn(shared_->plain->get_executor(), accept_loop(shared_, *shared_->plain, false),
                  net::detached);
  }
  if (!shared_->options.tls_listen.empty()) {
    auto port = open_listener(shared_->io, shared_->implicit, shared_->options.tls_listen);
    if (!port) return core::fail(std::move(port).error());
    shared_->implicit_port = *port;
    net::co_spawn(shared_->implicit->get_executor(), accept_loop(shared_, *shared_->implicit, true),
                  net::detached);
  }
  return core::ok();
}

std::uint16_t Server::port() const { return shared_->plain_port; }
std::uint16_t Server::tls_port() const { return shared_->implicit_port; }

void Server::drain() {
  shared_->draining = true;
  for (auto* acceptor : {&shared_->plain, &shared_->implicit}) {
    if (!*acceptor) continue;
    net::post((*acceptor)->get_executor(), [shared = shared_, acceptor] {
      error_code ec;
      (*acceptor)->close(ec);
    });
  }
  std::vector<std::shared_ptr<Session>> sessions;
  {
    std::lock_guard lock(shared_->mutex);
    for (auto& [raw, weak] : shared_->sessions) {
      if (auto s = weak.lock()) sessions.push_back(std::move(s));
    }
  }
  for (auto& s : sessions) {
    net::post(s->executor(), [s] { s->stop(); });
  }
}

}  // namespace mail::submission
