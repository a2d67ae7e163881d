// Trust: DNS answers are untrusted network input (validated by libunbound, parsed with
// limits by records.cpp).
#include "mail/dns/resolver.hpp"

#include <unbound.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <future>
#include <optional>
#include <thread>
#include <unordered_map>

#include "core/log.hpp"
#include "mail/dns/limits.hpp"
#include "mail/dns/records.hpp"

namespace mail::dns {

namespace {

constexpr int kTypeA = 1;
constexpr int kTypeMx = 15;
constexpr int kTypeTxt = 16;
constexpr int kTypeAaaa = 28;
constexpr int kTypeTlsa = 52;
constexpr int kClassIn = 1;
constexpr int kRcodeNoError = 0;
constexpr int kRcodeNxDomain = 3;

using Raw = std::move_only_function<void(RawAnswer)>;

RawAnswer failed(std::string qname, bool validated, Outcome outcome, std::string detail) {
  RawAnswer raw;
  raw.info.outcome = outcome;
  raw.info.validated = validated;
  raw.info.canonical_name = qname;
  raw.info.qname = std::move(qname);
  raw.info.detail = std::move(detail);
  return raw;
}

// A name from libunbound (canonname) in our form; the asked name if it does not parse.
std::string canonical(const char* name, const std::string& fallback) {
  if (name == nullptr) return fallback;
  auto normal = normalize_name(name);
  return normal ? *normal : fallback;
}

std::uint32_t min_ttl(std::uint32_t a, std::uint32_t b) {
  if (a == 0) return b;
  if (b == 0) return a;
  return std::min(a, b);
}

}  // namespace

// One lookup in flight. Owned by Impl::queries (keyed by serial); erased exactly once:
// by the timer when ub_cancel() succeeded (libunbound will not call back), or by the
// completion posted from the libunbound callback, or at shutdown.
struct Query {
  Query(Resolver::Impl* o, boost::asio::io_context& io, std::uint64_t s)
      : owner(o), serial(s), timer(io) {}
  Resolver::Impl* owner;
  std::uint64_t serial;
  int async_id = 0;
  bool unbound_done = false;  // libunbound called back or the query was cancelled
  bool finished = false;      // `done` was called
  std::string qname;
  boost::asio::steady_timer timer;
  Raw done;
};

struct Resolver::Impl {
  ~Impl() {
    queries.clear();
    if (pipe.is_open()) pipe.release();  // ub_fd belongs to libunbound
    if (ctx != nullptr) ub_ctx_delete(ctx);
  }

  ub_ctx* ctx = nullptr;
  bool validating = false;
  std::chrono::milliseconds timeout{kDefaultTimeout};
  boost::asio::io_context io{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard{io.get_executor()};
  boost::asio::posix::stream_descriptor pipe{io};
  // Declared after io: the timers inside are destroyed before it.
  std::unordered_map<std::uint64_t, std::unique_ptr<Query>> queries;
  std::uint64_t next_serial = 1;
  bool stopping = false;
  std::thread thread;

  // From any thread.
  void query(std::string name, int type, Raw done) {
    boost::asio::post(io, [this, name = std::move(name), type, done = std::move(done)]() mutable {
      start(std::move(name), type, std::move(done));
    });
  }

  // On the io thread from here on.
  void start(std::string name, int type, Raw done) {
    auto qname = normalize_name(name);
    if (!qname) {
      return done(failed("", validating, Outcome::servfail, qname.error().detail()));
    }
    if (stopping) return done(failed(*qname, validating, Outcome::servfail, "resolver stopped"));
    if (queries.size() >= kMaxQueriesInFlight) {
      return done(failed(*qname, validating, Outcome::servfail, "too many lookups in flight"));
    }
    const std::uint64_t serial = next_serial++;
    auto owned = std::make_unique<Query>(this, io, serial);
    Query* q = owned.get();
    q->qname = *qname;
    q->done = std::move(done);
    const int err =
        ub_resolve_async(ctx, q->qname.c_str(), type, kClassIn, q, &Impl::on_result, &q->async_id);
    if (err != 0) {
      return q->done(failed(q->qname, validating, Outcome::servfail,
                            std::string("ub_resolve_async: ") + ub_strerror(err)));
    }
    queries.emplace(serial, std::move(owned));
    q->timer.expires_after(timeout);
    q->timer.async_wait([this, serial](const boost::system::error_code& ec) {
      if (!ec) on_deadline(serial);
    });
  }

  void on_deadline(std::uint64_t serial) {
    const auto it = queries.find(serial);
    if (it == queries.end()) return;
    Query* q = it->second.get();
    if (q->finished || q->unbound_done) return;  // the answer is already on its way
    const bool cancelled = ub_cancel(ctx, q->async_id) == 0;
    finish(*q, failed(q->qname, validating, Outcome::timeout,
                      "no answer within " + std::to_string(timeout.count()) + " ms"));
    // Not cancelled: the result is already in ub_fd; on_result erases the query then.
    if (cancelled) queries.erase(it);
  }

  void finish(Query& q, RawAnswer raw) {
    q.finished = true;
    q.timer.cancel();
    auto done = std::move(q.done);
    done(std::move(raw));
  }

  // Called by libunbound inside ub_process(), on the io thread. Builds the answer and posts
  // its completion, so no caller code runs inside libunbound.
  static void on_result(void* mydata, int err, ub_result* result) {
    auto* q = static_cast<Query*>(mydata);
    auto* self = q->owner;
    q->unbound_done = true;
    RawAnswer raw = self->to_raw(q->qname, err, result);
    if (result != nullptr) ub_resolve_free(result);
    boost::asio::post(self->io, [self, serial = q->serial, raw = std::move(raw)]() mutable {
      const auto it = self->queries.find(serial);
      if (it == self->queries.end()) return;
      if (!it->second->finished) self->finish(*it->second, std::move(raw));
      self->queries.erase(it);
    });
  }

  RawAnswer to_raw(const std::string& qname, int err, const ub_result* result) const {
    if (err != 0 || result == nullptr) {
      return failed(qname, validating, Outcome::servfail,
                    std::string("libunbound: ") + ub_strerror(err));
    }
    RawAnswer raw;
    raw.info.qname = qname;
    raw.info.validated = validating;
    raw.info.canonical_name = canonical(result->canonname, qname);
    raw.info.ttl = result->ttl > 0 ? static_cast<std::uint32_t>(result->ttl) : 0;
    if (validating && result->bogus) {
      // Validation failed: nothing of this answer may be used, not even its rcode.
      raw.info.security = Security::bogus;
      raw.info.outcome = Outcome::servfail;
      raw.info.why_bogus = result->why_bogus ? result->why_bogus : "validation failure";
      return raw;
    }
    raw.info.security = (validating && result->secure) ? Security::secure : Security::insecure;
    if (result->rcode == kRcodeNxDomain) {
      raw.info.outcome = Outcome::nxdomain;
    } else if (result->rcode != kRcodeNoError) {
      raw.info.outcome = Outcome::servfail;
      raw.info.detail = "rcode " + std::to_string(result->rcode);
    } else if (!result->havedata || result->data == nullptr || result->data[0] == nullptr) {
      raw.info.outcome = Outcome::nodata;
    } else {
      raw.info.outcome = Outcome::ok;
      for (std::size_t i = 0; result->data[i] != nullptr; ++i) {
        if (i == kMaxRecordsPerAnswer) {
          raw.info.outcome = Outcome::servfail;
          raw.info.detail = "more than " + std::to_string(kMaxRecordsPerAnswer) + " records";
          raw.rdata.clear();
          break;
        }
        const auto* bytes = reinterpret_cast<const std::uint8_t*>(result->data[i]);
        const auto length = result->len[i] > 0 ? static_cast<std::size_t>(result->len[i]) : 0;
        raw.rdata.emplace_back(bytes, bytes + length);
      }
    }
    return raw;
  }

  void watch() {
    pipe.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                    [this](const boost::system::error_code& ec) {
                      if (ec || stopping) return;
                      const int err = ub_process(ctx);
                      if (err != 0) {
                        spdlog::error("dns.resolver ub_process failed: {}",
                                      core::log_safe(ub_strerror(err)));
                      }
                      watch();
                    });
  }

  void shutdown() {
    stopping = true;
    pipe.cancel();
    std::vector<Query*> open;
    for (auto& [serial, q] : queries) open.push_back(q.get());
    for (Query* q : open) {
      q->timer.cancel();
      if (!q->unbound_done && ub_cancel(ctx, q->async_id) == 0) q->unbound_done = true;
      if (!q->finished) {
        finish(*q, failed(q->qname, validating, Outcome::servfail, "resolver stopped"));
      }
    }
    guard.reset();
  }
};

namespace {

AddressAnswer combine_addresses(std::string qname, bool validated, RawAnswer v4, RawAnswer v6) {
  AddressAnswer answer;
  AnswerInfo& info = answer.info;
  info.qname = std::move(qname);
  info.validated = validated;
  info.security = combine(v4.info.security, v6.info.security);
  info.ttl = min_ttl(v4.info.ttl, v6.info.ttl);
  info.canonical_name =
      v4.info.outcome == Outcome::ok ? v4.info.canonical_name : v6.info.canonical_name;
  if (info.canonical_name.empty()) info.canonical_name = info.qname;
  if (v4.info.security == Security::bogus || v6.info.security == Security::bogus) {
    info.outcome = Outcome::servfail;
    info.why_bogus = v4.info.security == Security::bogus ? v4.info.why_bogus : v6.info.why_bogus;
    return answer;
  }
  for (const RawAnswer* half : {&v4, &v6}) {
    if (half->info.outcome == Outcome::servfail || half->info.outcome == Outcome::timeout) {
      info.outcome = half->info.outcome;
      info.security = Security::insecure;
      info.detail = (half == &v4 ? "A: " : "AAAA: ") + half->info.detail;
      return answer;
    }
  }
  for (const auto& rdata : v4.rdata) {
    if (rdata.size() != 4) {
      info.outcome = Outcome::servfail;
      info.detail = "A record of " + std::to_string(rdata.size()) + " bytes";
      answer.addresses.clear();
      return answer;
    }
    boost::asio::ip::address_v4::bytes_type bytes;
    std::copy(rdata.begin(), rdata.end(), bytes.begin());
    answer.addresses.emplace_back(boost::asio::ip::address_v4(bytes));
  }
  for (const auto& rdata : v6.rdata) {
    if (rdata.size() != 16) {
      info.outcome = Outcome::servfail;
      info.detail = "AAAA record of " + std::to_string(rdata.size()) + " bytes";
      answer.addresses.clear();
      return answer;
    }
    boost::asio::ip::address_v6::bytes_type bytes;
    std::copy(rdata.begin(), rdata.end(), bytes.begin());
    answer.addresses.emplace_back(boost::asio::ip::address_v6(bytes));
  }
  if (!answer.addresses.empty()) {
    info.outcome = Outcome::ok;
  } else if (v4.info.outcome == Outcome::nxdomain || v6.info.outcome == Outcome::nxdomain) {
    info.outcome = Outcome::nxdomain;
  } else {
    info.outcome = Outcome::nodata;
  }
  return answer;
}

// Waits for the calling thread: the callback runs on the resolver's thread.
template <class Answer, class Start>
Answer wait_for(Start start) {
  std::promise<Answer> promise;
  auto future = promise.get_future();
  start([&promise](Answer answer) { promise.set_value(std::move(answer)); });
  return future.get();
}

}  // namespace

core::Result<std::unique_ptr<Resolver>> Resolver::create(const ResolverOptions& options) {
  if (auto ok = validate(options); !ok) return core::fail(std::move(ok).error());
  auto impl = std::make_shared<Impl>();
  impl->timeout = options.timeout;
  impl->ctx = ub_ctx_create();
  if (impl->ctx == nullptr) {
    return core::fail(core::ErrorKind::internal, "cannot create the DNS resolver",
                      "ub_ctx_create failed");
  }
  auto unbound_error = [](std::string public_text, int err) {
    return core::fail(core::ErrorKind::invalid_input, std::move(public_text),
                      std::string("libunbound: ") + ub_strerror(err));
  };
  // Thread mode: libunbound resolves in a thread of its own (not a forked process).
  if (const int err = ub_ctx_async(impl->ctx, 1); err != 0) {
    return unbound_error("cannot start the DNS resolver", err);
  }
  if (options.resolver) {
    const auto address = to_unbound_address(*options.resolver);
    if (const int err = ub_ctx_set_fwd(impl->ctx, address->c_str()); err != 0) {
      return unbound_error("dns resolver address refused", err);
    }
  } else if (const int err = ub_ctx_resolvconf(impl->ctx, nullptr); err != 0) {
    return unbound_error("cannot read /etc/resolv.conf for the DNS resolver", err);
  }
  if (!options.trust_anchor_file.empty()) {
    // libunbound reads the file only when the context is first used; check it can be
    // opened here, and the first lookup below makes libunbound parse it.
    if (access(options.trust_anchor_file.c_str(), R_OK) != 0) {
      return core::fail(core::ErrorKind::invalid_input, "cannot read the DNS trust anchor file",
                        options.trust_anchor_file);
    }
    if (const int err = ub_ctx_add_ta_file(impl->ctx, options.trust_anchor_file.c_str());
        err != 0) {
      return unbound_error("cannot use the DNS trust anchor file", err);
    }
    impl->validating = true;
  }
  // Finalise the context now, so a malformed trust anchor stops startup instead of failing
  // every lookup: "localhost." is answered by libunbound's built-in local zone, no network.
  ub_result* result = nullptr;
  const int err = ub_resolve(impl->ctx, "localhost.", kTypeA, kClassIn, &result);
  if (result != nullptr) ub_resolve_free(result);
  if (err != 0) return unbound_error("cannot start the DNS resolver (bad trust anchor?)", err);

  const int fd = ub_fd(impl->ctx);
  if (fd < 0) {
    return core::fail(core::ErrorKind::internal, "cannot start the DNS resolver", "ub_fd failed");
  }
  boost::system::error_code ec;
  impl->pipe.assign(fd, ec);
  if (ec) {
    return core::fail(core::ErrorKind::internal, "cannot start the DNS resolver", ec.message());
  }
  impl->watch();
  impl->thread = std::thread([raw = impl.get()] { raw->io.run(); });
  return std::unique_ptr<Resolver>(new Resolver(std::move(impl)));
}

Resolver::Resolver(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Resolver::~Resolver() {
  Impl* impl = impl_.get();
  boost::asio::post(impl->io, [impl] { impl->shutdown(); });
  if (impl->thread.joinable()) impl->thread.join();
}

bool Resolver::validating() const { return impl_->validating; }

boost::asio::any_io_executor Resolver::executor() const { return impl_->io.get_executor(); }

void Resolver::start_txt(std::string name, Done<TxtAnswer> done) {
  impl_->query(std::move(name), kTypeTxt, [done = std::move(done)](RawAnswer raw) mutable {
    done(build_txt(std::move(raw)));
  });
}

void Resolver::start_tlsa(std::string name, Done<TlsaAnswer> done) {
  impl_->query(std::move(name), kTypeTlsa, [done = std::move(done)](RawAnswer raw) mutable {
    done(build_tlsa(std::move(raw)));
  });
}

void Resolver::start_addresses(std::string host, Done<AddressAnswer> done) {
  // Both halves complete on the io thread, so the shared state needs no lock.
  struct Both {
    std::string qname;
    bool validated = false;
    std::optional<RawAnswer> v4, v6;
    Done<AddressAnswer> done;
    void maybe_done() {
      if (v4 && v6) done(combine_addresses(qname, validated, std::move(*v4), std::move(*v6)));
    }
  };
  auto both = std::make_shared<Both>();
  both->qname = normalize_name(host).value_or(std::string());
  both->validated = impl_->validating;
  both->done = std::move(done);
  impl_->query(host, kTypeA, [both](RawAnswer raw) {
    both->v4 = std::move(raw);
    both->maybe_done();
  });
  impl_->query(std::move(host), kTypeAaaa, [both](RawAnswer raw) {
    both->v6 = std::move(raw);
    both->maybe_done();
  });
}

void Resolver::start_mx(std::string domain, Done<MxAnswer> done) {
  impl_->query(domain, kTypeMx, [this, domain, done = std::move(done)](RawAnswer raw) mutable {
    MxAnswer mx = build_mx(std::move(raw));
    if (mx.info.outcome != Outcome::nodata) return done(std::move(mx));
    // No MX: the domain is its own mail host if it has an address (RFC 5321
    // 5.1). The answer is then only as secure as both lookups.
    start_addresses(domain,
                    [mx = std::move(mx), done = std::move(done)](AddressAnswer addresses) mutable {
                      AnswerInfo& info = mx.info;
                      info.security = combine(info.security, addresses.info.security);
                      info.ttl = min_ttl(info.ttl, addresses.info.ttl);
                      switch (addresses.info.outcome) {
                        case Outcome::ok:
                          info.outcome = Outcome::ok;
                          mx.implicit_mx = true;
                          mx.hosts.push_back(MxHost{0, info.qname});
                          break;
                        case Outcome::nodata:
                        case Outcome::nxdomain:
                          break;  // no mail exchanger at all: nodata
                        case Outcome::servfail:
                        case Outcome::timeout:
                          info.outcome = addresses.info.outcome;
                          info.why_bogus = addresses.info.why_bogus;
                          info.detail = "address lookup: " + addresses.info.detail;
                          if (info.security != Security::bogus) info.security = Security::insecure;
                          break;
                      }
                      done(std::move(mx));
                    });
  });
}

MxAnswer Resolver::mx_blocking(std::string_view domain) {
  return wait_for<MxAnswer>(
      [&](Done<MxAnswer> done) { start_mx(std::string(domain), std::move(done)); });
}

AddressAnswer Resolver::addresses_blocking(std::string_view host) {
  return wait_for<AddressAnswer>(
      [&](Done<AddressAnswer> done) { start_addresses(std::string(host), std::move(done)); });
}

TxtAnswer Resolver::txt_blocking(std::string_view name) {
  return wait_for<TxtAnswer>(
      [&](Done<TxtAnswer> done) { start_txt(std::string(name), std::move(done)); });
}

TlsaAnswer Resolver::tlsa_blocking(std::string_view name) {
  return wait_for<TlsaAnswer>(
      [&](Done<TlsaAnswer> done) { start_tlsa(std::string(name), std::move(done)); });
}

}  // namespace mail::dns
