// sealpost_loadgen: a load generator that does what a browser does with a sealpost form.
//
// Browser mode (default), per submission: a new TCP connection and a full TLS handshake
// (no session resumption: no tickets, no session cache), GET the form, read the token out
// of the page, POST a valid intake submission, expect 303, GET the Location (the thanks
// page), expect 200, close. Keep-alive mode (--keep-alive): one connection per worker,
// the same three requests repeated on it (a new connection only when the server closes
// it or after an error).
//
// Latency of one submission = from the start of connect (browser mode) or of the GET
// (keep-alive mode) to the last byte of the thanks page. Only submissions that end inside
// the measurement window (after --warmup) are counted.
//
// Fill mode (--total N): no window; the workers stop once exactly N POSTs were answered
// 303 (each of those is a stored submission), and the figures cover the whole run. It is
// how bench/portal/run.sh fills a form with a known number of submissions.
//
// Benchmark tool only: it prints figures and asserts nothing. Certificate verification is
// OFF on purpose: it talks to a self-signed certificate on loopback that the benchmark
// script made a minute ago. Never point it at anything you need to trust.

#include <openssl/ssl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  std::string port;
  std::string path = "/f/intake";
  std::string name;  // label for the RESULT line
  int connections = 16;
  double duration = 20;
  double warmup = 3;
  bool keep_alive = false;
  long total = 0;  // > 0: fill mode, stop after this many stored submissions
};

[[noreturn]] void usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s --port P [--host H] [--path /f/intake] [--connections C]\n"
               "          [--duration S] [--warmup S] [--keep-alive] [--name LABEL]\n"
               "          [--total N]   (fill mode: exactly N stored submissions, no window)\n",
               argv0);
  std::exit(2);
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(argv[0]);
      return argv[++i];
    };
    if (a == "--host") {
      o.host = value();
    } else if (a == "--port") {
      o.port = value();
    } else if (a == "--path") {
      o.path = value();
    } else if (a == "--name") {
      o.name = value();
    } else if (a == "--connections") {
      o.connections = std::atoi(value().c_str());
    } else if (a == "--duration") {
      o.duration = std::atof(value().c_str());
    } else if (a == "--warmup") {
      o.warmup = std::atof(value().c_str());
    } else if (a == "--keep-alive") {
      o.keep_alive = true;
    } else if (a == "--total") {
      o.total = std::atol(value().c_str());
    } else {
      usage(argv[0]);
    }
  }
  if (o.port.empty() || o.connections < 1 || o.duration <= 0 || o.warmup < 0 || o.total < 0) {
    usage(argv[0]);
  }
  if (o.name.empty()) o.name = o.keep_alive ? "keep-alive" : "browser";
  return o;
}

// application/x-www-form-urlencoded, as browsers (and Python's urlencode) write it.
std::string urlencode(std::string_view raw) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : raw) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// The fields of tests/lib/harness.py valid_intake(), plus the token and the empty honeypot.
std::string intake_body(std::string_view token) {
  const std::string name = "J\xc3\xbcrgen Doe";
  const std::vector<std::pair<std::string, std::string>> pairs = {
      {"_token", std::string(token)},
      {"_website", ""},
      {"full_name", name},
      {"date_of_birth", "1980-02-03"},
      {"email", "j@example.org"},
      {"phone", "+1 202 555 0143"},
      {"visit_reason", "new"},
      {"allergies", "none"},
      {"pain_level", "3"},
      {"contact_methods", "email"},
      {"contact_methods", "phone"},
      {"preferred_time", "morning"},
      {"privacy_consent", "yes"},
      {"signature", name},
  };
  std::string body;
  for (const auto& [k, v] : pairs) {
    if (!body.empty()) body += '&';
    body += urlencode(k);
    body += '=';
    body += urlencode(v);
  }
  return body;
}

std::optional<std::string> extract_token(std::string_view page) {
  constexpr std::string_view kMarker = R"(name="_token" value=")";
  auto at = page.find(kMarker);
  if (at == std::string_view::npos) return std::nullopt;
  at += kMarker.size();
  auto end = page.find('"', at);
  if (end == std::string_view::npos) return std::nullopt;
  return std::string(page.substr(at, end - at));
}

// "https://host:port/f/x/thanks/R" or "/f/x/thanks/R" -> "/f/x/thanks/R".
std::string location_path(std::string_view location) {
  auto scheme = location.find("://");
  if (scheme == std::string_view::npos) return std::string(location);
  auto slash = location.find('/', scheme + 3);
  return slash == std::string_view::npos ? "/" : std::string(location.substr(slash));
}

// What one worker measured.
struct Tally {
  std::vector<double> latencies_ms;  // submissions that ended inside the window
  std::map<std::string, long> errors;
  long connections = 0;
};

struct Shared {
  Options options;
  ssl::context tls{ssl::context::tls_client};
  tcp::resolver::results_type endpoints;
  Clock::time_point window_start;
  Clock::time_point window_end;
  std::atomic<bool> stop{false};
  std::once_flag printed_tls;
  // Fill mode: submissions still to store. A worker takes one before it starts a
  // submission and gives it back if the POST was not answered 303 (nothing was stored).
  std::atomic<long> remaining{0};
  std::atomic<long> fill_errors{0};
  std::atomic<long> stored{0};  // POSTs answered 303, in any mode
};

class Failure {
 public:
  explicit Failure(std::string what) : what_(std::move(what)) {}
  const std::string& what() const { return what_; }

 private:
  std::string what_;
};

class Connection {
 public:
  explicit Connection(Shared& shared) : shared_(shared), stream_(io_, shared.tls) {}

  ~Connection() { close(); }

  void open() {
    beast::error_code ec;
    net::connect(stream_.next_layer(), shared_.endpoints, ec);
    if (ec) throw Failure("connect");
    auto& sock = stream_.next_layer();
    sock.set_option(tcp::no_delay(true), ec);
    // Blocking I/O with a deadline: a stuck server shows up as an error, not a hang.
    timeval tv{30, 0};
    ::setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(sock.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    stream_.handshake(ssl::stream_base::client, ec);
    if (ec) throw Failure("tls_handshake");
    open_ = true;
    std::call_once(shared_.printed_tls, [this] {
      SSL* s = stream_.native_handle();
      std::printf("tls: %s %s\n", SSL_get_version(s), SSL_get_cipher_name(s));
      std::fflush(stdout);
    });
  }

  bool is_open() const { return open_; }

  // Sends one request and reads the whole response. Throws Failure on I/O errors.
  bhttp::response<bhttp::string_body> exchange(bhttp::verb verb, const std::string& target,
                                               std::string body = {}) {
    bhttp::request<bhttp::string_body> req{verb, target, 11};
    req.set(bhttp::field::host, shared_.options.host + ":" + shared_.options.port);
    req.set(bhttp::field::user_agent, "sealpost_loadgen/1");
    req.set(bhttp::field::accept, "text/html,application/xhtml+xml");
    if (verb == bhttp::verb::post) {
      req.set(bhttp::field::content_type, "application/x-www-form-urlencoded");
      req.body() = std::move(body);
    }
    req.keep_alive(true);
    req.prepare_payload();
    beast::error_code ec;
    bhttp::write(stream_, req, ec);
    if (ec) throw Failure(std::string(bhttp::to_string(verb)) + "_write");
    bhttp::response<bhttp::string_body> res;
    bhttp::read(stream_, buffer_, res, ec);
    if (ec) throw Failure(std::string(bhttp::to_string(verb)) + "_read");
    if (!res.keep_alive()) server_closes_ = true;
    return res;
  }

  bool server_closes() const { return server_closes_; }

  // Sends close_notify without waiting for the peer's, then closes: what a browser does.
  void close() {
    if (!open_) return;
    open_ = false;
    SSL_shutdown(stream_.native_handle());
    beast::error_code ec;
    stream_.next_layer().close(ec);
  }

 private:
  Shared& shared_;
  net::io_context io_;
  ssl::stream<tcp::socket> stream_;
  beast::flat_buffer buffer_;
  bool open_ = false;
  bool server_closes_ = false;
};

std::string status_error(std::string_view step, unsigned status) {
  return std::string(step) + "_" + std::to_string(status);
}

// One submission: GET form, POST, GET thanks. A response that said "Connection: close"
// (sealpost closes after max_requests_per_connection) makes the next request open a new
// connection first, as a browser would.
void submit_once(Shared& shared, Tally& tally, std::unique_ptr<Connection>& conn, bool& stored) {
  stored = false;
  auto ensure_open = [&] {
    if (conn && conn->is_open() && !conn->server_closes()) return;
    conn = std::make_unique<Connection>(shared);
    ++tally.connections;
    conn->open();
  };
  const std::string& path = shared.options.path;
  ensure_open();
  auto form = conn->exchange(bhttp::verb::get, path);
  if (form.result_int() != 200) throw Failure(status_error("get_form", form.result_int()));
  auto token = extract_token(form.body());
  if (!token) throw Failure("no_token");
  ensure_open();
  auto posted = conn->exchange(bhttp::verb::post, path, intake_body(*token));
  if (posted.result_int() != 303) throw Failure(status_error("post", posted.result_int()));
  stored = true;
  std::string location(posted[bhttp::field::location]);
  if (location.empty()) throw Failure("no_location");
  ensure_open();
  auto thanks = conn->exchange(bhttp::verb::get, location_path(location));
  if (thanks.result_int() != 200) throw Failure(status_error("get_thanks", thanks.result_int()));
}

// Takes one of the submissions still to store; false when none is left. (Never below zero,
// so one given back after a failure is taken again by a worker still running.)
bool take_one(std::atomic<long>& remaining) {
  long left = remaining.load();
  while (left > 0) {
    if (remaining.compare_exchange_weak(left, left - 1)) return true;
  }
  return false;
}

// Fill mode gives up after this many failed submissions: a refusing server must not keep
// the benchmark looping; the caller sees the short count.
constexpr long kMaxFillErrors = 1000;

void worker(Shared& shared, Tally& tally) {
  std::unique_ptr<Connection> conn;
  const bool fill = shared.options.total > 0;
  while (!shared.stop.load(std::memory_order_relaxed)) {
    if (fill && !take_one(shared.remaining)) break;
    auto start = Clock::now();
    bool failed = false;
    bool stored = false;
    std::string error;
    try {
      submit_once(shared, tally, conn, stored);
    } catch (const Failure& f) {
      failed = true;
      error = f.what();
    }
    auto end = Clock::now();
    bool counted = fill || (start >= shared.window_start && end <= shared.window_end);
    if (stored) shared.stored.fetch_add(1);
    if (fill && !stored) shared.remaining.fetch_add(1);
    if (fill && failed && shared.fill_errors.fetch_add(1) + 1 >= kMaxFillErrors) shared.stop = true;
    if (failed) {
      if (counted) ++tally.errors[error];
      conn.reset();
      // Do not spin on a refusing server.
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    if (counted) {
      tally.latencies_ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
    }
    if (!shared.options.keep_alive) conn.reset();
  }
}

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(p / 100.0 * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(rank, sorted.size() - 1)];
}

double cpu_seconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  Shared shared;
  shared.options = parse_options(argc, argv);
  const Options& o = shared.options;

  // No certificate verification: self-signed certificate on loopback (see the top).
  shared.tls.set_verify_mode(ssl::verify_none);
  // Every connection pays a full handshake, as a new visitor's browser would.
  SSL_CTX_set_session_cache_mode(shared.tls.native_handle(), SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(shared.tls.native_handle(), SSL_OP_NO_TICKET);

  try {
    net::io_context io;
    tcp::resolver resolver(io);
    shared.endpoints = resolver.resolve(o.host, o.port);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cannot resolve %s:%s: %s\n", o.host.c_str(), o.port.c_str(), e.what());
    return 1;
  }

  const bool fill = o.total > 0;
  shared.remaining = o.total;
  auto now = Clock::now();
  shared.window_start =
      now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.warmup));
  shared.window_end = shared.window_start + std::chrono::duration_cast<Clock::duration>(
                                                std::chrono::duration<double>(o.duration));
  if (fill) {
    std::printf("%s: %d connections, %ld submissions against https://%s:%s%s\n", o.name.c_str(),
                o.connections, o.total, o.host.c_str(), o.port.c_str(), o.path.c_str());
  } else {
    std::printf("%s: %d connections, %.0f s warmup + %.0f s against https://%s:%s%s\n",
                o.name.c_str(), o.connections, o.warmup, o.duration, o.host.c_str(), o.port.c_str(),
                o.path.c_str());
  }
  std::fflush(stdout);

  std::vector<Tally> tallies(static_cast<std::size_t>(o.connections));
  std::vector<std::thread> threads;
  for (auto& t : tallies) threads.emplace_back([&shared, &t] { worker(shared, t); });
  double cpu_in_window = 0;
  double seconds = o.duration;
  if (fill) {
    // The workers stop by themselves once every submission is stored.
    for (auto& t : threads) t.join();
    cpu_in_window = cpu_seconds();
    seconds = std::chrono::duration<double>(Clock::now() - now).count();
  } else {
    std::this_thread::sleep_until(shared.window_start);
    double cpu_at_start = cpu_seconds();
    std::this_thread::sleep_until(shared.window_end);
    cpu_in_window = cpu_seconds() - cpu_at_start;
    shared.stop = true;
    for (auto& t : threads) t.join();
  }

  std::vector<double> all;
  std::map<std::string, long> errors;
  long connections = 0;
  for (const auto& t : tallies) {
    all.insert(all.end(), t.latencies_ms.begin(), t.latencies_ms.end());
    for (const auto& [k, v] : t.errors) errors[k] += v;
    connections += t.connections;
  }
  std::sort(all.begin(), all.end());
  long error_count = 0;
  std::string error_text;
  for (const auto& [k, v] : errors) {
    error_count += v;
    if (!error_text.empty()) error_text += ',';
    error_text += k + ":" + std::to_string(v);
  }
  double rate = static_cast<double>(all.size()) / seconds;
  double p50 = percentile(all, 50), p90 = percentile(all, 90), p99 = percentile(all, 99);
  double max = all.empty() ? 0 : all.back();
  std::printf("%s: %zu submissions in %.1f s = %.1f submissions/s\n", o.name.c_str(), all.size(),
              seconds, rate);
  std::printf("%s: latency ms p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n", o.name.c_str(), p50, p90,
              p99, max);
  std::printf("%s: errors %ld%s%s  (TCP connections opened: %ld; load generator CPU %.1f s)\n",
              o.name.c_str(), error_count, error_count ? " " : "", error_text.c_str(), connections,
              cpu_in_window);
  std::printf(
      "RESULT name=%s mode=%s connections=%d duration_s=%.1f submissions=%zu subs_per_s=%.1f "
      "p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f errors=%ld loadgen_cpu_s=%.2f stored=%ld\n",
      o.name.c_str(), o.keep_alive ? "keep-alive" : "browser", o.connections, seconds, all.size(),
      rate, p50, p90, p99, max, error_count, cpu_in_window, shared.stored.load());
  return 0;
}
