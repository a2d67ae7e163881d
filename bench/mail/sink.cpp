// sealpost_mail_sink: the SMTP receiver of bench/mail/run.sh. Both senders (sealpost and
// Postfix) deliver to it in the same run, so it must cost little: it speaks just enough
// ESMTP (EHLO, STARTTLS, PIPELINING, 8BITMIME, SIZE, ENHANCEDSTATUSCODES, MAIL, RCPT, DATA,
// RSET, NOOP, QUIT), answers 250 to every transaction and keeps nothing of a message but
// one record line:
//
//   RECORD <label> <stamp_ns> <arrival_ns> <connection> <nth_in_connection> <connections_open>
//          <dkim_signatures> <tls_version> <bytes>
//
// label and stamp_ns come from the message's "Subject: bench <label> <ns>" (the sender's
// enqueue time, CLOCK_REALTIME; the Subject, because sealpost lets no caller add an X-
// field); arrival_ns is when the final "." was read (the 250 goes out right after).
// connection numbers the TCP connections in accept order; nth_in_connection counts the
// messages on that connection (1 = its first), so connection reuse shows; connections_open
// is how many sessions were open then; dkim_signatures counts the DKIM-Signature fields.
// Records go to --out, flushed every 100 ms and at exit. --save-dir D: the first message of
// each label is written to D/<label>.eml (the script checks its DKIM signatures with dkimpy).
//
// Benchmark tool only: it binds one loopback address, accepts anything and checks nothing.
// Its input is bounded (a command line of at most 4 KiB, a message of at most 64 MiB) and
// a malformed session is dropped. SIGTERM or SIGINT stops it.

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
// clang-format off
#include <utility>
// clang-format on
#include <openssl/ssl.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using net::awaitable;
using net::use_awaitable;

constexpr std::size_t kMaxLine = 4096;
constexpr std::size_t kMaxMessage = 64u << 20;

struct Options {
  std::string host = "127.0.0.1";
  unsigned short port = 0;
  std::string cert;
  std::string key;
  std::string out;
  std::string save_dir;
  std::string name = "mx.bench.invalid";
  int threads = 1;
};

std::int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Shared by every connection: the record file, the saved labels, the counters.
struct Shared {
  std::mutex mutex;
  std::FILE* out = nullptr;
  std::string save_dir;
  std::set<std::string> saved;
  std::atomic<std::uint64_t> connections{0};
  std::atomic<std::int64_t> open{0};

  void record(const std::string& line, const std::string& label, std::string_view message) {
    std::lock_guard lock(mutex);
    std::fputs(line.c_str(), out);
    if (!save_dir.empty() && saved.insert(label).second) {
      std::ofstream f(std::filesystem::path(save_dir) / (label + ".eml"), std::ios::binary);
      f.write(message.data(), static_cast<std::streamsize>(message.size()));
    }
  }
  void flush() {
    std::lock_guard lock(mutex);
    std::fflush(out);
  }
};

bool iequals_prefix(std::string_view line, std::string_view prefix) {
  if (line.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(line[i])) != prefix[i]) return false;
  }
  return true;
}

// The value of a header field at the start of a line in the header section.
std::string_view header_value(std::string_view message, std::string_view name) {
  const std::size_t end = message.find("\r\n\r\n");
  std::string_view headers = message.substr(0, end == std::string_view::npos ? 0 : end + 2);
  for (std::size_t at = 0; at < headers.size();) {
    std::size_t eol = headers.find("\r\n", at);
    if (eol == std::string_view::npos) break;
    std::string_view line = headers.substr(at, eol - at);
    if (line.size() > name.size() && line.substr(0, name.size()) == name &&
        line[name.size()] == ':') {
      std::string_view v = line.substr(name.size() + 1);
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      return v;
    }
    at = eol + 2;
  }
  return {};
}

std::size_t count_fields(std::string_view message, std::string_view name) {
  const std::size_t end = message.find("\r\n\r\n");
  std::string_view headers = message.substr(0, end == std::string_view::npos ? 0 : end + 2);
  std::size_t n = 0;
  for (std::size_t at = 0; at < headers.size();) {
    std::size_t eol = headers.find("\r\n", at);
    if (eol == std::string_view::npos) break;
    std::string_view line = headers.substr(at, eol - at);
    if (line.size() > name.size() && line[name.size()] == ':') {
      bool same = true;
      for (std::size_t i = 0; i < name.size() && same; ++i) {
        same = std::tolower(static_cast<unsigned char>(line[i])) ==
               std::tolower(static_cast<unsigned char>(name[i]));
      }
      n += same ? 1 : 0;
    }
    at = eol + 2;
  }
  return n;
}

class Connection {
 public:
  Connection(tcp::socket socket, ssl::context& tls, Shared& shared, const Options& options)
      : stream_(std::move(socket), tls), shared_(shared), options_(options) {}

  awaitable<void> run() {
    const std::uint64_t id = ++shared_.connections;
    ++shared_.open;
    try {
      co_await serve(id);
    } catch (const std::exception&) {
      // A peer that went away or spoke nonsense: the session ends, nothing else.
    }
    --shared_.open;
  }

 private:
  template <class Buffers>
  awaitable<void> send(const Buffers& b) {
    if (tls_) {
      co_await net::async_write(stream_, b, use_awaitable);
    } else {
      co_await net::async_write(stream_.next_layer(), b, use_awaitable);
    }
  }
  awaitable<std::size_t> receive() {
    char chunk[16384];
    std::size_t n =
        tls_ ? co_await stream_.async_read_some(net::buffer(chunk), use_awaitable)
             : co_await stream_.next_layer().async_read_some(net::buffer(chunk), use_awaitable);
    in_.append(chunk, n);
    co_return n;
  }

  awaitable<void> serve(std::uint64_t id) {
    out_ = "220 " + options_.name + " ESMTP bench sink\r\n";
    co_await send(net::buffer(out_));
    out_.clear();
    std::uint64_t nth = 0;
    for (;;) {
      // Answer every complete command line already read (PIPELINING), then flush.
      std::size_t eol;
      while ((eol = in_.find("\r\n")) != std::string::npos) {
        std::string line = in_.substr(0, eol);
        in_.erase(0, eol + 2);
        if (iequals_prefix(line, "EHLO")) {
          out_ += "250-" + options_.name + "\r\n250-PIPELINING\r\n250-SIZE 67108864\r\n";
          if (!tls_) out_ += "250-STARTTLS\r\n";
          out_ += "250-ENHANCEDSTATUSCODES\r\n250 8BITMIME\r\n";
        } else if (iequals_prefix(line, "HELO")) {
          out_ += "250 " + options_.name + "\r\n";
        } else if (iequals_prefix(line, "STARTTLS") && !tls_) {
          out_ += "220 2.0.0 Ready to start TLS\r\n";
          co_await send(net::buffer(out_));
          out_.clear();
          in_.clear();  // RFC 3207: nothing pipelined before the handshake counts
          co_await stream_.async_handshake(ssl::stream_base::server, use_awaitable);
          tls_ = true;
        } else if (iequals_prefix(line, "MAIL FROM:")) {
          out_ += "250 2.1.0 Ok\r\n";
        } else if (iequals_prefix(line, "RCPT TO:")) {
          out_ += "250 2.1.5 Ok\r\n";
        } else if (iequals_prefix(line, "DATA")) {
          out_ += "354 End data with <CR><LF>.<CR><LF>\r\n";
          co_await send(net::buffer(out_));
          out_.clear();
          co_await read_message();
          ++nth;
          note(id, nth);
          out_ += "250 2.0.0 Ok: queued\r\n";
        } else if (iequals_prefix(line, "RSET") || iequals_prefix(line, "NOOP")) {
          out_ += "250 2.0.0 Ok\r\n";
        } else if (iequals_prefix(line, "QUIT")) {
          out_ += "221 2.0.0 Bye\r\n";
          co_await send(net::buffer(out_));
          co_return;
        } else {
          out_ += "502 5.5.2 Not implemented\r\n";
        }
      }
      if (!out_.empty()) {
        co_await send(net::buffer(out_));
        out_.clear();
      }
      if (in_.size() > kMaxLine) co_return;
      co_await receive();
    }
  }

  // Reads up to the "<CRLF>.<CRLF>" that ends DATA; message_ holds the content without it,
  // dot-unstuffing left undone (the records do not need it).
  awaitable<void> read_message() {
    // The terminator may come right after the DATA line (an empty message).
    std::size_t scanned = 0;
    for (;;) {
      if (in_.rfind(".\r\n", 0) == 0) {
        message_.clear();
        in_.erase(0, 3);
        co_return;
      }
      std::size_t end = in_.find("\r\n.\r\n", scanned);
      if (end != std::string::npos) {
        message_.assign(in_, 0, end + 2);
        in_.erase(0, end + 5);
        co_return;
      }
      scanned = in_.size() > 4 ? in_.size() - 4 : 0;
      if (in_.size() > kMaxMessage) throw std::runtime_error("message too large");
      co_await receive();
    }
  }

  void note(std::uint64_t id, std::uint64_t nth) {
    const std::int64_t arrival = now_ns();
    std::string_view stamp = header_value(message_, "Subject");
    std::string label = "-";
    std::string stamp_ns = "0";
    if (stamp.rfind("bench ", 0) == 0) stamp.remove_prefix(6);
    while (!stamp.empty() && (stamp.back() == ' ' || stamp.back() == '\t')) stamp.remove_suffix(1);
    if (auto sp = stamp.find(' '); sp != std::string_view::npos && stamp.size() < 200) {
      label = std::string(stamp.substr(0, sp));
      for (char& ch : label) {
        if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_') ch = '_';
      }
      stamp_ns = std::string(stamp.substr(sp + 1));
    }
    const char* version = tls_ ? SSL_get_version(stream_.native_handle()) : "none";
    char line[512];
    std::snprintf(line, sizeof line, "RECORD %s %s %lld %llu %llu %lld %zu %s %zu\n", label.c_str(),
                  stamp_ns.c_str(), static_cast<long long>(arrival),
                  static_cast<unsigned long long>(id), static_cast<unsigned long long>(nth),
                  static_cast<long long>(shared_.open.load()),
                  count_fields(message_, "DKIM-Signature"), version, message_.size());
    shared_.record(line, label, message_);
  }

  ssl::stream<tcp::socket> stream_;
  Shared& shared_;
  const Options& options_;
  bool tls_ = false;
  std::string in_;
  std::string out_;
  std::string message_;
};

awaitable<void> accept_loop(tcp::acceptor& acceptor, ssl::context& tls, Shared& shared,
                            const Options& options) {
  for (;;) {
    tcp::socket socket = co_await acceptor.async_accept(use_awaitable);
    socket.set_option(tcp::no_delay(true));
    auto executor = socket.get_executor();
    auto c = std::make_shared<Connection>(std::move(socket), tls, shared, options);
    net::co_spawn(
        executor, [c]() -> awaitable<void> { co_await c->run(); }, net::detached);
  }
}

awaitable<void> flush_loop(Shared& shared) {
  net::steady_timer timer(co_await net::this_coro::executor);
  for (;;) {
    timer.expires_after(std::chrono::milliseconds(100));
    co_await timer.async_wait(use_awaitable);
    shared.flush();
  }
}

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: sealpost_mail_sink --host IP --port N --cert CHAIN.pem --key KEY.pem --out "
               "FILE [--name MX_NAME] [--threads N] [--save-dir DIR]\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (i + 1 >= argc) usage();
    std::string v = argv[++i];
    if (a == "--host")
      o.host = v;
    else if (a == "--port")
      o.port = static_cast<unsigned short>(std::atoi(v.c_str()));
    else if (a == "--cert")
      o.cert = v;
    else if (a == "--key")
      o.key = v;
    else if (a == "--out")
      o.out = v;
    else if (a == "--save-dir")
      o.save_dir = v;
    else if (a == "--name")
      o.name = v;
    else if (a == "--threads")
      o.threads = std::max(1, std::atoi(v.c_str()));
    else
      usage();
  }
  if (o.cert.empty() || o.key.empty() || o.out.empty()) usage();

  Shared shared;
  shared.out = std::fopen(o.out.c_str(), "a");
  if (shared.out == nullptr) {
    std::perror(o.out.c_str());
    return 1;
  }
  shared.save_dir = o.save_dir;

  ssl::context tls(ssl::context::tls_server);
  tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  tls.use_certificate_chain_file(o.cert);
  tls.use_private_key_file(o.key, ssl::context::pem);

  net::io_context io(o.threads);
  tcp::acceptor acceptor(io, tcp::endpoint(net::ip::make_address(o.host), o.port));
  std::printf("PORT %u\n", acceptor.local_endpoint().port());
  std::fflush(stdout);

  net::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code&, int) { io.stop(); });
  net::co_spawn(io, accept_loop(acceptor, tls, shared, o), net::detached);
  net::co_spawn(io, flush_loop(shared), net::detached);

  std::vector<std::thread> threads;
  for (int i = 1; i < o.threads; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads) t.join();
  shared.flush();
  std::fclose(shared.out);
  return 0;
}
