// Trust: untrusted network input (every byte a remote SMTP server sends).
//
// SECURITY: this file talks to servers on the Internet. Every read has a deadline and goes
// into a bounded buffer; replies are parsed by parse_reply (bounded, fuzzed). A required TLS
// level is never downgraded: without STARTTLS, with a failed handshake or an unverified peer
// nothing of the transaction is sent, only QUIT. Bytes a server sends after its 220 to
// STARTTLS (before the handshake) end the session: they would otherwise be read as if they
// came over TLS (CVE-2011-0411). Logs carry the host, address, TLS facts and reply codes,
// never the message, the addresses or the servers' texts.
#include "mail/smtp/session.hpp"

#include <fmt/format.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <optional>

#include "core/log.hpp"
#include "mail/smtp/capabilities.hpp"
#include "mail/smtp/command.hpp"
#include "mail/smtp/detail/tls_client.hpp"

namespace mail::smtp {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

namespace {

// Explicit session states (OpenSMTPD's mta_session keeps one too): what the connection is
// waiting for now. `idle` is the only state in which a new transaction may start.
enum class State {
  fresh,       // never connected
  connecting,  // TCP connect
  greeting,    // waiting for 220
  ehlo,        // EHLO sent (before or after TLS)
  helo,        // HELO sent (EHLO refused, no TLS required)
  starttls,    // STARTTLS sent
  handshake,   // TLS handshake
  rset,        // RSET before a reused transaction
  mail,        // MAIL sent (with the RCPTs and DATA when pipelining)
  rcpt,        // waiting for RCPT replies
  data,        // DATA sent, waiting for 354
  body,        // writing the message
  data_end,    // waiting for the reply to "."
  idle,        // between transactions
  quitting,    // QUIT sent
  closed,      // the socket is closed; the session is done
};

}  // namespace

class AsioSession final : public Session, public std::enable_shared_from_this<AsioSession> {
 public:
  AsioSession(net::any_io_executor executor, Destination destination)
      : dest_(std::move(destination)),
        tcp_(net::make_strand(executor)),
        idle_timer_(tcp_.get_executor()),
        buffer_(kReadBufferBytes) {
    host_ = core::log_safe(dest_.mx_host, 255);
    ip_ = dest_.address.to_string();
  }

  void async_deliver(Transaction transaction, Handler handler) override {
    net::post(tcp_.get_executor(),
              [self = shared_from_this(), t = std::move(transaction),
               h = std::move(handler)]() mutable { self->start(std::move(t), std::move(h)); });
  }

  void async_quit(std::function<void()> done) override {
    net::post(tcp_.get_executor(), [self = shared_from_this(), d = std::move(done)]() mutable {
      if (self->state_ == State::idle) return self->do_quit(std::move(d));
      if (self->state_ == State::fresh || self->state_ == State::closed) {
        self->state_ = State::closed;
        return d();
      }
      // Busy (a transaction or a QUIT in flight): run `done` once it has closed.
      self->quit_waiters_.push_back(std::move(d));
    });
  }

  void cancel() override {
    net::post(tcp_.get_executor(), [self = shared_from_this()] {
      self->sane_ = false;
      self->usable_ = false;
      if (self->state_ == State::idle || self->state_ == State::fresh) return self->close();
      beast::error_code ec;
      self->tcp_.socket().close(ec);  // pending operations complete with operation_aborted
      self->idle_timer_.cancel();
    });
  }

  bool usable() const override { return usable_; }

 private:
  using ReplyStep = void (AsioSession::*)(const Reply&);

  // ---- transactions -------------------------------------------------------------------

  void start(Transaction transaction, Handler handler) {
    if (handler_) {
      // A second transaction while one runs is the caller's bug: refuse it, touch nothing.
      return report_alone(std::move(transaction), std::move(handler),
                          local_status(Stage::connect, LocalFailure::not_attempted));
    }
    tx_ = std::move(transaction);
    handler_ = std::move(handler);
    results_.assign(tx_.recipients.size(), std::nullopt);
    sent_.clear();
    accepted_.clear();
    mail_ok_ = false;
    reused_ = false;
    probe_passed_ = false;
    if (tx_.probe) {
      // Only a fresh session probes: a reused connection would prove nothing new.
      if (state_ != State::fresh) {
        return report_now(local_status(Stage::connect, LocalFailure::not_attempted));
      }
      return do_connect();
    }

    // Checks that need no connection; a failure here leaves the connection as it was.
    if (tx_.recipients.size() > kMaxRecipientsPerTransaction) {
      return report_now(local_status(Stage::rcpt, LocalFailure::too_many_recipients));
    }
    if (!tx_.message || tx_.message->size() > kMaxMessageBytes) {
      return report_now(local_status(Stage::mail, LocalFailure::message_too_big));
    }
    if (!is_valid_path(tx_.sender, true)) {
      return report_now(local_status(Stage::mail, LocalFailure::bad_sender));
    }
    bool any = false;
    for (std::size_t i = 0; i < tx_.recipients.size(); ++i) {
      if (is_valid_path(tx_.recipients[i], false)) {
        any = true;
      } else {
        results_[i] = local_status(Stage::rcpt, LocalFailure::bad_recipient);
      }
    }
    if (!any) return report_now(local_status(Stage::rcpt, LocalFailure::bad_recipient));

    switch (state_) {
      case State::fresh:
        return do_connect();
      case State::idle:
        reused_ = true;
        ++idle_generation_;
        idle_timer_.cancel();
        return do_rset();
      default:
        return report_now(local_status(Stage::connect, LocalFailure::not_attempted));
    }
  }

  // Ends the current transaction without touching the connection.
  void report_now(const Status& status) {
    for (auto& r : results_) {
      if (!r) r = status;
    }
    auto handler = std::move(handler_);
    handler_ = nullptr;
    handler(make_report());
  }

  void report_alone(Transaction transaction, Handler handler, const Status& status) {
    DeliveryReport report;
    for (auto& rcpt : transaction.recipients) report.recipients.push_back({rcpt, status});
    report.tls = tls_record_;
    report.connection_usable = usable_;
    net::post(tcp_.get_executor(),
              [h = std::move(handler), r = std::move(report)]() mutable { h(std::move(r)); });
  }

  DeliveryReport make_report() {
    DeliveryReport report;
    report.tls = tls_record_;
    report.reused_connection = reused_;
    report.connection_usable = usable_;
    report.probe_passed = probe_passed_;
    for (std::size_t i = 0; i < tx_.recipients.size(); ++i) {
      report.recipients.push_back(
          {tx_.recipients[i],
           results_[i] ? *results_[i] : local_status(Stage::connect, LocalFailure::not_attempted)});
    }
    return report;
  }

  // The transaction is over and the connection can carry another: idle, with a deadline.
  void finish_transaction() {
    ++transactions_;
    state_ = State::idle;
    usable_ = sane_ && transactions_ < kMaxTransactionsPerConnection;
    log_transaction();
    auto handler = std::move(handler_);
    handler_ = nullptr;
    if (usable_) {
      start_idle_timer();
    } else {
      do_quit({});
    }
    handler(make_report());
  }

  // The session cannot go on: every recipient without a final status gets `status`. When
  // the stream is still in step (`polite`), QUIT is sent after the report.
  void fail_session(const Status& status, bool polite) {
    usable_ = false;
    if (!polite) sane_ = false;
    for (auto& r : results_) {
      if (!r) r = status;
    }
    spdlog::warn("event=smtp_session_failed host={} ip={} stage={} code={} enhanced={}", host_, ip_,
                 stage_name(status.stage), status.code, status.enhanced);
    if (handler_) log_transaction();
    auto handler = std::move(handler_);
    handler_ = nullptr;
    if (sane_ && state_ != State::closed) {
      do_quit({});
    } else {
      close();
    }
    if (handler) handler(make_report());
  }

  void fail_io(beast::error_code ec, Stage stage) {
    LocalFailure failure = LocalFailure::connection_lost;
    if (ec == beast::error::timeout) failure = LocalFailure::timeout;
    if (stage == Stage::connect) failure = LocalFailure::connect_failed;
    spdlog::info("event=smtp_io_error host={} ip={} stage={} error=\"{}\"", host_, ip_,
                 stage_name(stage), core::log_safe(ec.message()));
    sane_ = false;
    if (state_ == State::quitting) return close();
    fail_session(local_status(stage, failure), false);
  }

  // ---- connection setup ----------------------------------------------------------------

  void do_connect() {
    state_ = State::connecting;
    tcp_.expires_after(dest_.timeouts.connect);
    tcp_.async_connect(tcp::endpoint(dest_.address, dest_.port),
                       [self = shared_from_this()](beast::error_code ec) { self->on_connect(ec); });
  }

  void on_connect(beast::error_code ec) {
    if (ec) return fail_io(ec, Stage::connect);
    state_ = State::greeting;
    do_read_reply(Stage::greeting, dest_.timeouts.greeting, &AsioSession::on_greeting);
  }

  void on_greeting(const Reply& reply) {
    if (reply.code != 220) return fail_session(status_from_reply(Stage::greeting, reply), true);
    do_ehlo();
  }

  void do_ehlo() {
    auto command = hello_command("EHLO", dest_.ehlo_name);
    if (!command) {
      spdlog::error("event=smtp_bad_ehlo_name host={} ip={}", host_, ip_);
      return fail_session(local_status(Stage::ehlo, LocalFailure::not_attempted), true);
    }
    state_ = State::ehlo;
    do_command(std::move(*command), Stage::ehlo, dest_.timeouts.command, &AsioSession::on_ehlo);
  }

  void on_ehlo(const Reply& reply) {
    if (reply.code == 250) {
      caps_ = parse_ehlo(reply);
      return after_hello();
    }
    // HELO only when no TLS is required: HELO cannot offer STARTTLS.
    const TlsLevel level = detail::effective_level(dest_.tls);
    if (!tls_ && (level == TlsLevel::none || level == TlsLevel::may)) {
      auto command = hello_command("HELO", dest_.ehlo_name);
      state_ = State::helo;
      return do_command(std::move(*command), Stage::helo, dest_.timeouts.command,
                        &AsioSession::on_helo);
    }
    if (!tls_) tls_record_.failure = "EHLO refused: STARTTLS cannot be negotiated";
    fail_session(status_from_reply(Stage::ehlo, reply), true);
  }

  void on_helo(const Reply& reply) {
    if (reply.code != 250) return fail_session(status_from_reply(Stage::helo, reply), true);
    caps_ = {};
    if (detail::effective_level(dest_.tls) == TlsLevel::may) {
      tls_record_.failure = "EHLO refused, HELO used: STARTTLS not available";
    }
    do_transaction();
  }

  void after_hello() {
    if (tls_) return do_transaction();
    const TlsLevel level = detail::effective_level(dest_.tls);
    if (level == TlsLevel::none) return do_transaction();
    if (caps_.starttls) return do_starttls();
    tls_record_.failure = "STARTTLS not offered";
    if (level == TlsLevel::may) return do_transaction();
    spdlog::warn("event=smtp_tls_required_not_offered host={} ip={} level={}", host_, ip_,
                 tls_level_name(dest_.tls.level));
    fail_session(local_status(Stage::starttls, LocalFailure::tls_not_offered), true);
  }

  void do_starttls() {
    state_ = State::starttls;
    do_command("STARTTLS\r\n", Stage::starttls, dest_.timeouts.command, &AsioSession::on_starttls);
  }

  void on_starttls(const Reply& reply) {
    if (reply.code == 220) {
      if (buffer_.size() != 0) {
        tls_record_.failure = "bytes after the 220 reply to STARTTLS";
        return fail_session(local_status(Stage::starttls, LocalFailure::protocol_error), false);
      }
      return do_handshake();
    }
    tls_record_.failure = fmt::format("STARTTLS refused with {}", reply.code);
    if (detail::effective_level(dest_.tls) == TlsLevel::may) return do_transaction();
    Status status = local_status(Stage::starttls, LocalFailure::tls_not_offered);
    status.code = reply.code;
    fail_session(status, true);
  }

  void do_handshake() {
    state_ = State::handshake;
    auto context = detail::client_context(dest_.tls);
    if (!context) {
      tls_record_.failure = context.error().public_text();
      spdlog::error("event=smtp_tls_setup_failed host={} ip={} detail=\"{}\"", host_, ip_,
                    core::log_safe(context.error().detail()));
      return fail_session(local_status(Stage::tls_handshake, LocalFailure::tls_failed), true);
    }
    ssl_context_ = std::move(*context);
    tls_.emplace(tcp_, *ssl_context_);
    if (auto s = detail::prepare_connection(tls_->native_handle(), dest_.tls, dest_.mx_host); !s) {
      tls_record_.failure = s.error().public_text();
      tls_.reset();
      return fail_session(local_status(Stage::tls_handshake, LocalFailure::tls_failed), true);
    }
    tcp_.expires_after(dest_.timeouts.tls_handshake);
    tls_->async_handshake(
        net::ssl::stream_base::client,
        [self = shared_from_this()](beast::error_code ec) { self->on_handshake(ec); });
  }

  void on_handshake(beast::error_code ec) {
    if (ec) {
      tls_record_.handshake_failed = true;
      tls_record_.failure = "TLS handshake failed: " + core::log_safe(ec.message());
      spdlog::warn("event=smtp_tls_failed host={} ip={} level={} reason=\"{}\"", host_, ip_,
                   tls_level_name(dest_.tls.level), tls_record_.failure);
      sane_ = false;
      const LocalFailure failure =
          ec == beast::error::timeout ? LocalFailure::timeout : LocalFailure::tls_failed;
      return fail_session(local_status(Stage::tls_handshake, failure), false);
    }
    const bool ok =
        detail::check_peer(tls_->native_handle(), dest_.tls, dest_.mx_host, &tls_record_);
    spdlog::info(
        "event=smtp_tls host={} ip={} level={} version={} cipher={} verified={} matched=\"{}\" "
        "failure=\"{}\"",
        host_, ip_, tls_level_name(dest_.tls.level), tls_record_.version, tls_record_.cipher,
        verification_name(tls_record_.verified), core::log_safe(tls_record_.matched_name),
        core::log_safe(tls_record_.failure));
    if (!ok) {
      // The handshake is done, so QUIT goes over TLS; nothing else is sent.
      return fail_session(local_status(Stage::tls_handshake, LocalFailure::tls_unverified), true);
    }
    caps_ = {};  // RFC 3207 §4.2: forget what was learnt before TLS
    do_ehlo();
  }

  void do_rset() {
    state_ = State::rset;
    do_command("RSET\r\n", Stage::rset, dest_.timeouts.command, &AsioSession::on_rset);
  }

  void on_rset(const Reply& reply) {
    if (reply.code != 250) return fail_session(status_from_reply(Stage::rset, reply), true);
    do_transaction();
  }

  // ---- the transaction -----------------------------------------------------------------

  void fail_transaction(const Status& status) {
    for (auto& r : results_) {
      if (!r) r = status;
    }
    finish_transaction();
  }

  void do_transaction() {
    if (tx_.probe) {
      // Greeting, EHLO and the TLS the destination requires all passed: that was the probe.
      probe_passed_ = true;
      usable_ = false;
      auto handler = std::move(handler_);
      handler_ = nullptr;
      do_quit({});
      return handler(make_report());
    }
    const std::string& message = *tx_.message;
    wire_ = dot_stuff(message);
    wire_pos_ = 0;
    const std::uint64_t size = size_parameter(wire_);
    const bool eight_bit = has_eight_bit(message);
    bool utf8 = tx_.smtputf8 || needs_smtputf8(tx_.sender);
    for (const auto& r : tx_.recipients) utf8 = utf8 || needs_smtputf8(r);
    if (caps_.size && size > *caps_.size) {
      return fail_transaction(local_status(Stage::mail, LocalFailure::message_too_big));
    }
    if (eight_bit && !caps_.eight_bit_mime) {
      return fail_transaction(local_status(Stage::mail, LocalFailure::eight_bit_unsupported));
    }
    if (utf8 && !caps_.smtputf8) {
      return fail_transaction(local_status(Stage::mail, LocalFailure::smtputf8_unsupported));
    }
    MailParameters params;
    if (caps_.size_offered) params.size = size;
    params.eight_bit_mime = eight_bit;
    params.smtputf8 = utf8;
    auto mail = mail_command(tx_.sender, params);  // the sender was checked in start()
    rcpt_commands_.clear();
    for (std::size_t i = 0; i < tx_.recipients.size(); ++i) {
      if (results_[i]) continue;  // refused before the connection
      sent_.push_back(i);
      rcpt_commands_.push_back(*rcpt_command(tx_.recipients[i]));
    }
    next_reply_ = 0;
    pipelined_ = caps_.pipelining;
    state_ = State::mail;
    if (!pipelined_) {
      return do_command(std::move(*mail), Stage::mail, dest_.timeouts.mail, &AsioSession::on_mail);
    }
    // RFC 2920: MAIL, every RCPT and DATA in one write; the replies come back in order.
    std::string batch = std::move(*mail);
    for (const auto& c : rcpt_commands_) batch += c;
    batch += "DATA\r\n";
    do_command(std::move(batch), Stage::mail, dest_.timeouts.mail, &AsioSession::on_mail);
  }

  void on_mail(const Reply& reply) {
    mail_ok_ = reply.klass() == 2;
    if (!mail_ok_) {
      for (std::size_t i : sent_) results_[i] = status_from_reply(Stage::mail, reply);
      // Pipelined: the RCPT and DATA replies are still coming and must be read.
      if (!pipelined_) return finish_transaction();
    }
    state_ = State::rcpt;
    if (pipelined_) {
      return do_read_reply(Stage::rcpt, dest_.timeouts.rcpt, &AsioSession::on_rcpt);
    }
    do_command(rcpt_commands_[0], Stage::rcpt, dest_.timeouts.rcpt, &AsioSession::on_rcpt);
  }

  void on_rcpt(const Reply& reply) {
    const std::size_t i = sent_[next_reply_++];
    if (mail_ok_) {
      if (reply.klass() == 2) {
        accepted_.push_back(i);
      } else {
        results_[i] = status_from_reply(Stage::rcpt, reply);
      }
    }
    if (next_reply_ < sent_.size()) {
      if (pipelined_) {
        return do_read_reply(Stage::rcpt, dest_.timeouts.rcpt, &AsioSession::on_rcpt);
      }
      return do_command(rcpt_commands_[next_reply_], Stage::rcpt, dest_.timeouts.rcpt,
                        &AsioSession::on_rcpt);
    }
    state_ = State::data;
    if (pipelined_) {
      return do_read_reply(Stage::data, dest_.timeouts.data_init, &AsioSession::on_data);
    }
    if (accepted_.empty()) return finish_transaction();  // no DATA without a recipient
    do_command("DATA\r\n", Stage::data, dest_.timeouts.data_init, &AsioSession::on_data);
  }

  void on_data(const Reply& reply) {
    if (reply.code != 354) {
      for (std::size_t i : accepted_) results_[i] = status_from_reply(Stage::data, reply);
      return finish_transaction();
    }
    if (!mail_ok_ || accepted_.empty()) {
      // Pipelined, nothing accepted, yet the server wants data (RFC 2920 §3.1 says it
      // should not): end the data at once. The message is never sent.
      state_ = State::data_end;
      return do_command(".\r\n", Stage::data_end, dest_.timeouts.data_end,
                        &AsioSession::on_empty_data_end);
    }
    state_ = State::body;
    do_body();
  }

  void do_body() {
    if (wire_pos_ >= wire_.size()) {
      state_ = State::data_end;
      wire_.clear();
      wire_.shrink_to_fit();
      return do_read_reply(Stage::data_end, dest_.timeouts.data_end, &AsioSession::on_data_end);
    }
    const std::size_t n = std::min(kDataBlockBytes, wire_.size() - wire_pos_);
    tcp_.expires_after(dest_.timeouts.data_block);
    with_stream([&](auto& stream) {
      net::async_write(stream, net::buffer(wire_.data() + wire_pos_, n),
                       [self = shared_from_this()](beast::error_code ec, std::size_t written) {
                         if (ec) return self->fail_io(ec, Stage::data);
                         self->wire_pos_ += written;
                         self->do_body();
                       });
    });
  }

  void on_data_end(const Reply& reply) {
    for (std::size_t i : accepted_) results_[i] = status_from_reply(Stage::data_end, reply);
    finish_transaction();
  }

  void on_empty_data_end(const Reply&) { finish_transaction(); }

  // ---- idle and QUIT -------------------------------------------------------------------

  void start_idle_timer() {
    const std::uint64_t generation = ++idle_generation_;
    idle_timer_.expires_after(dest_.timeouts.idle);
    idle_timer_.async_wait([self = shared_from_this(), generation](beast::error_code ec) {
      if (ec || generation != self->idle_generation_ || self->state_ != State::idle) return;
      self->do_quit({});
    });
  }

  void do_quit(std::function<void()> done) {
    if (done) quit_waiters_.push_back(std::move(done));
    usable_ = false;
    if (state_ == State::closed || !sane_) return close();
    state_ = State::quitting;
    ++idle_generation_;
    do_command("QUIT\r\n", Stage::quit, dest_.timeouts.command, &AsioSession::on_quit);
  }

  void on_quit(const Reply&) { close(); }

  void close() {
    state_ = State::closed;
    usable_ = false;
    idle_timer_.cancel();
    beast::error_code ec;
    tcp_.socket().shutdown(tcp::socket::shutdown_both, ec);
    tcp_.socket().close(ec);
    auto waiters = std::move(quit_waiters_);
    quit_waiters_.clear();
    for (auto& w : waiters) w();
  }

  // ---- I/O -----------------------------------------------------------------------------

  template <class F>
  void with_stream(F&& f) {
    if (tls_) {
      f(*tls_);
    } else {
      f(tcp_);
    }
  }

  // Writes `command`, then reads one reply; both within `timeout`.
  void do_command(std::string command, Stage stage, std::chrono::milliseconds timeout,
                  ReplyStep next) {
    out_ = std::move(command);
    tcp_.expires_after(timeout);
    with_stream([&](auto& stream) {
      net::async_write(
          stream, net::buffer(out_),
          [self = shared_from_this(), stage, timeout, next](beast::error_code ec, std::size_t) {
            if (ec) return self->fail_io(ec, stage);
            self->do_read_reply(stage, timeout, next);
          });
    });
  }

  void do_read_reply(Stage stage, std::chrono::milliseconds timeout, ReplyStep next) {
    reply_stage_ = stage;
    on_reply_ = next;
    tcp_.expires_after(timeout);  // one deadline for the whole reply, however it trickles in
    read_reply();
  }

  void read_reply() {
    const auto data = buffer_.cdata();
    const std::string_view view(static_cast<const char*>(data.data()), data.size());
    // Enhanced codes only once EHLO offered them, and never in the greeting or EHLO reply.
    const bool enhanced = caps_.enhanced_status_codes && reply_stage_ != Stage::greeting &&
                          reply_stage_ != Stage::ehlo && reply_stage_ != Stage::helo;
    auto parsed = parse_reply(view, enhanced);
    if (parsed.status == ReplyParse::Status::complete) {
      buffer_.consume(parsed.consumed);
      return (this->*on_reply_)(parsed.reply);
    }
    if (parsed.status == ReplyParse::Status::error || buffer_.size() >= buffer_.max_size()) {
      spdlog::warn("event=smtp_protocol_error host={} ip={} stage={} reason=\"{}\"", host_, ip_,
                   stage_name(reply_stage_),
                   parsed.status == ReplyParse::Status::error ? reply_error_text(parsed.error)
                                                              : "read buffer full");
      if (state_ == State::quitting) return close();
      return fail_session(local_status(reply_stage_, LocalFailure::protocol_error), false);
    }
    const std::size_t room = std::min<std::size_t>(4096, buffer_.max_size() - buffer_.size());
    with_stream([&](auto& stream) {
      stream.async_read_some(buffer_.prepare(room),
                             [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                               if (ec) return self->fail_io(ec, self->reply_stage_);
                               self->buffer_.commit(n);
                               self->read_reply();
                             });
    });
  }

  void log_transaction() {
    std::size_t delivered = 0, temporary = 0, permanent = 0;
    std::string codes;
    for (const auto& r : results_) {
      if (!r) continue;
      if (r->outcome == Outcome::delivered) ++delivered;
      if (r->outcome == Outcome::temporary) ++temporary;
      if (r->outcome == Outcome::permanent) ++permanent;
      if (!codes.empty()) codes += ',';
      codes += fmt::format("{}:{}:{}", stage_name(r->stage), r->code, r->enhanced);
    }
    spdlog::info(
        "event=smtp_transaction host={} ip={} port={} reused={} tls={} tls_version={} cipher={} "
        "verified={} recipients={} delivered={} temporary={} permanent={} replies={}",
        host_, ip_, dest_.port, reused_, tls_record_.tls, tls_record_.version, tls_record_.cipher,
        verification_name(tls_record_.verified), results_.size(), delivered, temporary, permanent,
        codes);
  }

  Destination dest_;
  std::string host_;
  std::string ip_;
  beast::tcp_stream tcp_;
  net::steady_timer idle_timer_;
  beast::flat_buffer buffer_;
  std::shared_ptr<net::ssl::context> ssl_context_;
  std::optional<net::ssl::stream<beast::tcp_stream&>> tls_;

  State state_ = State::fresh;
  bool sane_ = true;  // the stream is in step with the server (a command may be sent)
  std::atomic<bool> usable_{true};
  Capabilities caps_;
  TlsRecord tls_record_;
  std::size_t transactions_ = 0;
  std::uint64_t idle_generation_ = 0;
  std::vector<std::function<void()>> quit_waiters_;

  Stage reply_stage_ = Stage::connect;
  ReplyStep on_reply_ = nullptr;
  std::string out_;

  Transaction tx_;
  Handler handler_;
  std::vector<std::optional<Status>> results_;
  std::vector<std::size_t> sent_;
  std::vector<std::string> rcpt_commands_;
  std::vector<std::size_t> accepted_;
  std::size_t next_reply_ = 0;
  bool mail_ok_ = false;
  bool pipelined_ = false;
  bool reused_ = false;
  bool probe_passed_ = false;
  std::string wire_;
  std::size_t wire_pos_ = 0;
};

std::shared_ptr<Session> Session::create(net::any_io_executor executor, Destination destination) {
  return std::make_shared<AsioSession>(std::move(executor), std::move(destination));
}

}  // namespace mail::smtp
