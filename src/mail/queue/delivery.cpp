// Trust: DNS answers (validated or not, as each says), remote SMTP servers through
// mail/smtp's bounded parsers; our own queue rows (a body that fails authentication is an
// integrity failure, logged and deferred, never sent).
#include "mail/queue/delivery.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cmath>
#include <mutex>
#include <random>
#include <set>
#include <utility>

#include "core/log.hpp"
#include "mail/dns/records.hpp"
#include "mail/mtasts/lookup.hpp"
#include "mail/mtasts/report.hpp"
#include "mail/queue/bounce.hpp"
#include "mail/queue/compose.hpp"
#include "mail/queue/fallback.hpp"
#include "mail/queue/outbox.hpp"
#include "mail/queue/tls_report.hpp"
#include "mail/smtp/session.hpp"
#include "webhooks/event.hpp"

namespace mail::queue {

namespace net = boost::asio;
using net::awaitable;
using net::use_awaitable;
using store::MailState;

std::chrono::seconds backoff(int attempts, std::chrono::seconds first, std::chrono::seconds cap,
                             double unit) {
  const int doublings = std::clamp(attempts - 1, 0, 30);
  double seconds = static_cast<double>(first.count()) * std::pow(2.0, doublings);
  seconds = std::min(seconds, static_cast<double>(cap.count()));
  seconds *= 0.8 + 0.4 * std::clamp(unit, 0.0, 1.0);
  return std::chrono::seconds(std::max<std::int64_t>(1, std::llround(seconds)));
}

namespace {

// One delivery job: the recipients of one message at one domain, leased together.
struct Group {
  std::string message_id;
  std::string domain;
  std::int64_t created_at = 0;
  std::vector<store::ClaimedRecipient> recipients;
};

struct Loaded {
  store::MailMessageRecord message;
  std::shared_ptr<const std::string> bytes;
  bool seen_tls = false;
};

// What one attempt found, before it becomes store rows.
struct Result {
  smtp::Status status;
  std::string mx_host;
  std::string ip;
  smtp::TlsRecord tls;
  policy::Decision decision;
  bool tls_requirement_failed = false;  // the failure was TLS not being good enough
  // The transaction's status of each recipient, when it reached the server (else `status`
  // applies to all).
  std::map<std::string, smtp::Status> per_recipient;
  std::vector<std::string> tlsa_text;  // the usable TLSA records applied ("3 1 1 ab12...")
  std::optional<store::TlsSessionCount> tls_session;  // for TLS-RPT, when TLS was in play
  bool sts_no_mx = false;   // every MX host was outside the enforce MTA-STS policy
  mtasts::AttemptNote sts;  // what MTA-STS says of this attempt (mode, id, failure)
};

bool is_tls_failure(const smtp::Status& s) {
  return s.stage == smtp::Stage::starttls || s.stage == smtp::Stage::tls_handshake ||
         s.enhanced == "4.7.4" || s.enhanced == "4.7.5";
}

smtp::Status ours(std::string enhanced, std::string text, bool permanent = false) {
  smtp::Status s;
  s.outcome = permanent ? smtp::Outcome::permanent : smtp::Outcome::temporary;
  s.enhanced = std::move(enhanced);
  s.text = std::move(text);
  return s;
}

// Which idle connection a new transaction may ride on: the same address, port and MX name,
// and exactly the same TLS requirement (a connection verified one way is never reused for
// a transaction that asked for another).
std::string connection_key(const smtp::Destination& d) {
  std::string key =
      fmt::format("{}|{}|{}|{}|{}|{}|", d.address.to_string(), d.port, d.mx_host,
                  static_cast<int>(d.tls.level), d.tls.check_unenforced, d.tls.ca_file);
  for (const auto& n : d.tls.acceptable_names) key += n + ",";
  key += "|";
  for (const auto& t : d.tls.tlsa) {
    key += fmt::format("{}{}{}:", t.usage, t.selector, t.mtype);
    for (auto b : t.data) key += fmt::format("{:02x}", b);
    key += ",";
  }
  return key;
}

// `sts_testing`: an MTA-STS policy in mode testing applies (and no usable DANE record): the
// certificate is checked but not enforced, so that TLS-RPT can report what enforce would
// have refused (RFC 8461 §5).
smtp::TlsRequirement requirement_of(const policy::Decision& d, const std::string& ca_file,
                                    const std::vector<dns::TlsaRecord>& tlsa, bool sts_testing) {
  smtp::TlsRequirement r;
  r.ca_file = ca_file;
  r.check_unenforced = sts_testing;
  switch (d.requirement) {
    case policy::Requirement::none:
      r.level = smtp::TlsLevel::may;
      break;
    case policy::Requirement::encrypted:
      r.level = smtp::TlsLevel::encrypt;
      break;
    case policy::Requirement::verified:
      if (d.verify_by == policy::Verification::dane) {
        r.level = smtp::TlsLevel::dane;
        for (const auto& t : tlsa) {
          r.tlsa.push_back(smtp::Tlsa{t.usage, t.selector, t.matching_type, t.data});
        }
      } else {
        r.level = smtp::TlsLevel::verify;
        // MTA-STS (RFC 8461 §4.2): the certificate must name the MX host itself; the host
        // was matched against the policy's patterns before it was chosen.
        if (d.verify_by != policy::Verification::mta_sts) r.acceptable_names = d.name_patterns;
      }
      break;
  }
  return r;
}

std::string verified_name(const smtp::TlsRecord& tls, const policy::Decision& d) {
  if (!tls.tls) return "";
  switch (tls.verified) {
    case smtp::Verification::dane_ee:
    case smtp::Verification::dane_ta:
      return "dane";
    case smtp::Verification::ca:
      return d.verify_by == policy::Verification::mta_sts ? "mta-sts" : "ca";
    case smtp::Verification::none:
      return "none";
  }
  return "none";
}

}  // namespace

struct Delivery::Impl : std::enable_shared_from_this<Delivery::Impl> {
  Impl(net::io_context& io, store::Store& s, core::BlockingPool& p, dns::Resolver& r,
       const core::SecretBytes& key, const dkim::Signer& sg, audit::Auditor& a,
       const core::Clock& c, DeliveryOptions o)
      : io(io),
        strand(net::make_strand(io)),
        timer(strand),
        renew_timer(strand),
        store(s),
        pool(p),
        resolver(r),
        queue_key(key),
        signer(sg),
        auditor(a),
        clock(c),
        options(std::move(o)),
        jitter(std::random_device{}()),
        sts_lookup(strand, r, s, p, c, mtasts::FetchOptions{.ca_file = options.ca_file}) {}

  net::io_context& io;
  net::strand<net::io_context::executor_type> strand;
  net::steady_timer timer;
  net::steady_timer renew_timer;
  store::Store& store;
  core::BlockingPool& pool;
  dns::Resolver& resolver;
  const core::SecretBytes& queue_key;
  const dkim::Signer& signer;
  audit::Auditor& auditor;
  const core::Clock& clock;
  DeliveryOptions options;
  std::minstd_rand jitter;          // only on the strand
  mtasts::PolicyLookup sts_lookup;  // MTA-STS policies per recipient domain (RFC 8461)

  // On the strand:
  bool stopping = false;
  bool claiming = false;
  bool more_due = false;     // the last claim got as many as it asked for
  std::size_t sessions = 0;  // jobs running
  std::map<std::string, std::size_t> per_domain;
  std::vector<Group> waiting;                     // leased, waiting for a domain slot
  std::set<std::pair<std::string, int>> running;  // leased and being attempted
  // Connections kept open between transactions, by connection_key: the next group bound to
  // the same destination under the same TLS requirement sends RSET and goes on, with no new
  // TCP and TLS handshake. A session QUITs by itself after Timeouts::idle unused.
  std::multimap<std::string, std::shared_ptr<smtp::Session>> idle_sessions;
  std::function<void()> on_stopped;

  // Group commit of the attempt records. Each group's record is one unit of work (its
  // attempts, audit entries, M4 memory, TLS-RPT tally, bounce); the units that arrive while
  // one commit runs are committed together by the next, so that sessions waiting for their
  // record (a session starts its next transaction only once the last one is recorded) share
  // one fsync instead of queueing for one each. A batch that fails is retried unit by unit,
  // so one unit's failure never fails another's.
  using RecordBody = std::function<core::Status(store::Store&)>;
  struct PendingRecord {
    RecordBody body;
    std::function<void(core::Status)> done;  // posts the result to the strand
  };
  std::mutex record_mutex;
  std::vector<PendingRecord> record_pending;  // guarded by record_mutex
  bool record_flushing = false;               // guarded by record_mutex

  std::int64_t now() const { return core::unix_seconds(clock.now()); }

  // Runs `work` on the blocking pool and resumes on the strand with its value. Not itself a
  // coroutine (it returns async_initiate's awaitable), and callers pass a named function,
  // never a temporary: GCC 12 destroys temporaries of a co_await expression twice.
  template <class T>
  awaitable<T> blocking(std::function<T()> work) {
    auto self = shared_from_this();
    return net::async_initiate<decltype(use_awaitable), void(T)>(
        [self, work = std::move(work)](auto handler) mutable {
          auto h = std::make_shared<decltype(handler)>(std::move(handler));
          bool posted = self->pool.post([self, h, work = std::move(work)]() mutable {
            T value = work();
            net::post(self->strand,
                      [h, value = std::move(value)]() mutable { (*h)(std::move(value)); });
          });
          if (!posted) {
            // The pool is full or stopped: the same answer as a store that is unavailable.
            net::post(self->strand, [h]() mutable {
              (*h)(T(core::fail(core::ErrorKind::unavailable, "busy", "blocking pool full")));
            });
          }
        },
        use_awaitable);
  }

  // Commits `body` in the next group commit (above) and resumes on the strand with its
  // status. Callers pass a named function (the GCC 12 caveat of blocking()).
  awaitable<core::Status> record_unit(RecordBody body) {
    auto self = shared_from_this();
    return net::async_initiate<decltype(use_awaitable), void(core::Status)>(
        [self, body = std::move(body)](auto handler) mutable {
          auto h = std::make_shared<decltype(handler)>(std::move(handler));
          PendingRecord record{std::move(body), [self, h](core::Status s) {
                                 net::post(self->strand,
                                           [h, s = std::move(s)]() mutable { (*h)(std::move(s)); });
                               }};
          bool start = false;
          {
            std::lock_guard lock(self->record_mutex);
            self->record_pending.push_back(std::move(record));
            start = !std::exchange(self->record_flushing, true);
          }
          if (start && !self->pool.post([self] { self->flush_records(); })) {
            // The pool is full or stopped: the same answer as a store that is unavailable.
            std::vector<PendingRecord> batch;
            {
              std::lock_guard lock(self->record_mutex);
              batch.swap(self->record_pending);
              self->record_flushing = false;
            }
            for (auto& r : batch)
              r.done(core::fail(core::ErrorKind::unavailable, "busy", "blocking pool full"));
          }
        },
        use_awaitable);
  }

  // On the blocking pool: commits what is pending, batch after batch, until nothing is.
  void flush_records() {
    for (;;) {
      std::vector<PendingRecord> batch;
      {
        std::lock_guard lock(record_mutex);
        if (record_pending.empty()) {
          record_flushing = false;
          return;
        }
        batch.swap(record_pending);
      }
      core::Status all =
          store.transact_blocking("record mail attempts", [&](store::Store& tx) -> core::Status {
            for (auto& r : batch) {
              if (auto s = r.body(tx); !s) return s;
            }
            return core::ok();
          });
      std::vector<core::Status> results(batch.size(), all);
      if (!all && batch.size() > 1) {
        for (std::size_t i = 0; i < batch.size(); ++i) {
          results[i] = store.transact_blocking("record mail attempts", batch[i].body);
        }
      }
      if (auto c = auditor.settle_blocking(); !c) {
        spdlog::error("event=audit_checkpoint_failed detail={}",
                      core::log_safe(c.error().detail()));
      }
      for (std::size_t i = 0; i < batch.size(); ++i) batch[i].done(std::move(results[i]));
    }
  }

  awaitable<smtp::DeliveryReport> deliver(std::shared_ptr<smtp::Session> session,
                                          smtp::Transaction tx) {
    return net::async_initiate<decltype(use_awaitable), void(smtp::DeliveryReport)>(
        [session, tx = std::move(tx)](auto handler) mutable {
          auto h = std::make_shared<decltype(handler)>(std::move(handler));
          session->async_deliver(std::move(tx),
                                 [h](smtp::DeliveryReport report) { (*h)(std::move(report)); });
        },
        use_awaitable);
  }

  awaitable<mtasts::Applied> sts_policy(const std::string& domain) {
    return net::async_initiate<decltype(use_awaitable), void(mtasts::Applied)>(
        [this, domain](auto handler) mutable {
          auto h = std::make_shared<decltype(handler)>(std::move(handler));
          sts_lookup.async_lookup(domain, [h](mtasts::Applied a) { (*h)(std::move(a)); });
        },
        use_awaitable);
  }

  awaitable<void> quit(std::shared_ptr<smtp::Session> session) {
    return net::async_initiate<decltype(use_awaitable), void()>(
        [session](auto handler) mutable {
          auto h = std::make_shared<decltype(handler)>(std::move(handler));
          session->async_quit([h] { (*h)(); });
        },
        use_awaitable);
  }

  void schedule() {
    if (stopping) return;
    timer.expires_after(options.poll);
    timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->stopping) return;
      self->claim();
      self->schedule();
    });
  }

  // Every third of the lease: extend the leases of everything waiting or running here.
  void schedule_renewal() {
    if (stopping) return;
    renew_timer.expires_after(options.lease / 3);
    renew_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->stopping) return;
      self->renew();
      self->schedule_renewal();
    });
  }

  void renew() {
    std::vector<std::pair<std::string, int>> held(running.begin(), running.end());
    for (const auto& g : waiting) {
      for (const auto& r : g.recipients) held.emplace_back(r.message_id, r.idx);
    }
    if (held.empty()) return;
    auto self = shared_from_this();
    const std::int64_t until = now() + options.lease.count();
    bool posted = pool.post([self, held = std::move(held), until] {
      auto kept = self->store.mail().renew_leases_blocking(self->options.node_id, held, until);
      if (!kept) {
        spdlog::warn("event=mail_lease_renewal_failed detail={}",
                     core::log_safe(kept.error().detail()));
      } else if (*kept < held.size()) {
        spdlog::warn("event=mail_lease_lost count={}", held.size() - *kept);
      }
    });
    if (!posted) spdlog::warn("event=mail_lease_renewal_failed detail=blocking pool full");
  }

  void claim() {
    if (claiming || stopping || sessions >= options.max_connections) return;
    claiming = true;
    net::co_spawn(strand, claim_round(), [self = shared_from_this()](std::exception_ptr e) {
      self->claiming = false;
      if (e) spdlog::error("event=mail_claim_failed detail=exception");
      self->maybe_stopped();  // a stop that came while claiming
    });
  }

  awaitable<void> claim_round() {
    const std::size_t free = options.max_connections - sessions;
    const std::int64_t t = now();
    const std::int64_t until = t + options.lease.count();
    const std::string owner = options.node_id;
    std::function<core::Result<std::vector<store::ClaimedRecipient>>()> job = [this, owner, t,
                                                                               until, free] {
      return store.mail().claim_due_blocking(owner, t, until, free * 10);
    };
    auto claimed =
        co_await blocking<core::Result<std::vector<store::ClaimedRecipient>>>(std::move(job));
    more_due = claimed && claimed->size() >= free * 10;
    if (!claimed) {
      spdlog::warn("event=mail_claim_failed detail={}", core::log_safe(claimed.error().detail()));
      co_return;
    }
    // Group by (message, domain): one transaction carries a message's recipients at one
    // domain (at most kMaxRecipientsPerTransaction of them).
    std::vector<Group> groups;
    for (auto& c : *claimed) {
      auto it = std::find_if(groups.begin(), groups.end(), [&](const Group& g) {
        return g.message_id == c.message_id && g.domain == c.domain &&
               g.recipients.size() < smtp::kMaxRecipientsPerTransaction;
      });
      if (it == groups.end()) {
        groups.push_back(Group{c.message_id, c.domain, c.created_at, {}});
        it = groups.end() - 1;
      }
      it->recipients.push_back(std::move(c));
    }
    for (auto& g : groups) waiting.push_back(std::move(g));
    start_waiting();
  }

  void start_waiting() {
    // Stopping: what is leased but not started is released by maybe_stopped().
    if (stopping) return;
    for (auto it = waiting.begin(); it != waiting.end();) {
      if (sessions >= options.max_connections) break;
      if (per_domain[it->domain] >= options.max_per_domain) {
        ++it;
        continue;
      }
      Group g = std::move(*it);
      it = waiting.erase(it);
      ++sessions;
      ++per_domain[g.domain];
      const std::string domain = g.domain;
      std::vector<std::pair<std::string, int>> keys;
      for (const auto& r : g.recipients) keys.emplace_back(r.message_id, r.idx);
      running.insert(keys.begin(), keys.end());
      net::co_spawn(strand, run(std::move(g)),
                    [self = shared_from_this(), domain, keys](std::exception_ptr e) {
                      if (e) spdlog::error("event=mail_delivery_failed detail=exception");
                      for (const auto& k : keys) self->running.erase(k);
                      --self->sessions;
                      if (--self->per_domain[domain] == 0) self->per_domain.erase(domain);
                      self->start_waiting();
                      // More was due than the last claim took: claim again now rather than
                      // at the next poll, so a full queue drains at the pace of delivery.
                      if (self->more_due && self->waiting.size() < self->options.max_connections)
                        self->claim();
                      self->maybe_stopped();
                    });
    }
  }

  static smtp::Transaction transaction_of(const Loaded& loaded, const Group& g) {
    smtp::Transaction tx;
    tx.sender = loaded.message.sender;
    for (const auto& r : g.recipients) tx.recipients.push_back(r.address);
    tx.message = loaded.bytes;
    return tx;
  }

  // Not one recipient was tried: the session refused the transaction before any command.
  static bool never_tried(const smtp::DeliveryReport& report) {
    const auto untried =
        smtp::local_status(smtp::Stage::connect, smtp::LocalFailure::not_attempted);
    return !report.recipients.empty() && std::ranges::all_of(report.recipients, [&](const auto& r) {
      return !r.status.from_server && r.status.stage == untried.stage &&
             r.status.enhanced == untried.enhanced;
    });
  }

  std::shared_ptr<smtp::Session> take_idle(const std::string& key) {
    auto [first, last] = idle_sessions.equal_range(key);
    for (auto it = first; it != last;) {
      auto session = it->second;
      it = idle_sessions.erase(it);
      if (session->usable()) return session;
    }
    return nullptr;
  }

  // After a transaction: keep the connection for the next one, or say goodbye.
  // By reference (the caller's locals): GCC 12 mishandles temporaries in co_await calls.
  awaitable<void> release_session(const std::string& key,
                                  const std::shared_ptr<smtp::Session>& session, bool usable) {
    std::erase_if(idle_sessions, [](const auto& kv) { return !kv.second->usable(); });
    if (usable && session->usable() && !stopping &&
        idle_sessions.size() < options.max_connections) {
      idle_sessions.emplace(key, session);
      co_return;
    }
    if (usable) co_await quit(session);
  }

  void maybe_stopped() {
    if (stopping) {
      for (auto& [key, session] : idle_sessions) session->async_quit([session] {});
      idle_sessions.clear();
    }
    if (!stopping || sessions > 0 || claiming || !on_stopped) return;
    auto done = std::move(on_stopped);
    on_stopped = nullptr;
    waiting.clear();  // leased but never tried: released below
    auto self = shared_from_this();
    bool posted = pool.post([self, done = std::move(done)] {
      if (auto r = self->store.mail().release_leases_blocking(self->options.node_id); !r) {
        spdlog::warn("event=mail_release_failed detail={}", core::log_safe(r.error().detail()));
      }
      net::post(self->io, done);
    });
    if (!posted) net::post(io, done);
  }

  // One group, start to end.
  awaitable<void> run(Group g) {
    std::function<core::Result<Loaded>()> job = [this, id = g.message_id, domain = g.domain] {
      return load(id, domain);
    };
    auto loaded = co_await blocking<core::Result<Loaded>>(std::move(job));
    if (!loaded) {
      spdlog::error("event=mail_load_failed message={} detail={}", g.message_id,
                    core::log_safe(loaded.error().detail()));
      Result r{.status = ours("4.3.0", "the queued message could not be read")};
      co_await record(g, r);
      co_return;
    }
    Result result = co_await attempt(g, *loaded);
    co_await record(g, result);
  }

  core::Result<Loaded> load(const std::string& id, const std::string& domain) {
    auto message = store.mail().find_message_blocking(id, true);
    if (!message) return core::fail(message.error());
    if (!*message) return core::fail(core::ErrorKind::not_found, "no such message");
    auto body = open_body(**message, queue_key);
    if (!body) return core::fail(body.error());
    auto seen = store.mail().tls_seen_blocking(domain);
    if (!seen) return core::fail(seen.error());
    Loaded out;
    out.bytes = std::make_shared<const std::string>(body->as_string_view());
    out.message = std::move(**message);
    out.message.body.clear();
    out.seen_tls = seen->has_value();
    return out;
  }

  awaitable<Result> attempt(const Group& g, const Loaded& loaded) {
    // MTA-STS (RFC 8461) for this recipient domain, before its MX lookup: per domain, never
    // per MX set, so domains that share MX hosts never share a policy (KumoMTA #484).
    const mtasts::Applied sts = co_await sts_policy(g.domain);
    if (sts.policy || sts.failure != mtasts::FetchFailure::none) {
      spdlog::info(
          "event=mail_mta_sts message={} domain={} mode={} id={} source={} failure={}",
          g.message_id, core::log_safe(g.domain),
          sts.policy ? mtasts::mode_name(sts.policy->mode) : "-", core::log_safe(sts.id),
          mtasts::source_name(sts.source),
          sts.failure == mtasts::FetchFailure::none ? "-" : mtasts::failure_name(sts.failure));
    }
    Result r = co_await attempt_mx(g, loaded, sts);
    r.sts = mtasts::note_attempt(sts, r.mx_host, r.status, r.tls, r.sts_no_mx);
    r.tls_session = tls_session_of(g.domain, r, sts);
    co_return r;
  }

  // How the attempt's TLS session counts for TLS-RPT (RFC 8460 4.3): under which policy
  // (DANE's TLSA records, the MTA-STS policy, or none found) and with what result; none
  // when no TLS session was tried or required (a connection that failed before STARTTLS).
  std::optional<store::TlsSessionCount> tls_session_of(const std::string& domain, const Result& r,
                                                       const mtasts::Applied& sts) const {
    std::string failure = r.sts.failure;
    if (failure.empty()) failure = std::string(mtasts::tls_result_type(r.status, r.tls));
    const bool dane = r.decision.verify_by == policy::Verification::dane && !r.tlsa_text.empty();
    if (dane && !failure.empty() && r.tls.failure.starts_with("no TLSA record matches"))
      failure = "tlsa-invalid";
    // Ours: a bogus or failed DNSSEC answer for the MX, its address or its TLSA records.
    if (failure.empty() && !r.tls.tls && r.status.enhanced == "4.7.5" &&
        (r.status.text.find("DNSSEC") != std::string::npos ||
         r.status.text.find("TLSA") != std::string::npos))
      failure = "dnssec-invalid";
    if (!r.tls.tls && failure.empty()) return std::nullopt;
    store::TlsSessionCount c;
    c.day = utc_day(now());
    c.policy_domain = domain;
    c.result_type = failure;
    c.mx_host = r.mx_host;
    c.ip = r.ip;
    c.count = 1;
    auto join = [](const std::vector<std::string>& lines) {
      std::string out;
      for (const auto& l : lines) out += (out.empty() ? "" : "\n") + l;
      return out;
    };
    if (dane) {
      c.policy_type = "tlsa";
      c.policy_text = join(r.tlsa_text);
    } else if (sts.policy || sts.failure != mtasts::FetchFailure::none) {
      c.policy_type = "sts";
      if (sts.policy) {
        c.policy_text = mtasts::policy_text(*sts.policy);
        if (!c.policy_text.empty() && c.policy_text.back() == '\n') c.policy_text.pop_back();
        c.mx_patterns = join(sts.policy->mx);
      }
    } else {
      c.policy_type = "no-policy-found";
    }
    return c;
  }

  awaitable<Result> attempt_mx(const Group& g, const Loaded& loaded, const mtasts::Applied& sts) {
    policy::Inputs in;
    auto message_policy = policy::parse_policy(loaded.message.security);
    in.message = message_policy ? *message_policy : policy::Policy::verify;
    if (auto it = options.domain_policies.find(g.domain); it != options.domain_policies.end()) {
      in.domain = it->second;
    }
    in.default_policy = options.default_policy;
    in.phi = loaded.message.phi;
    in.seen_tls = loaded.seen_tls;
    in.mta_sts = sts.input();
    auto first = policy::decide(in);
    if (!first) co_return Result{.status = ours("5.7.1", first.error().public_text(), true)};

    auto mx = co_await resolver.async_mx(g.domain, use_awaitable);
    if (mx.info.outcome == dns::Outcome::nxdomain) {
      co_return Result{.status = ours("5.1.2", "the recipient domain does not exist", true),
                       .decision = *first};
    }
    if (mx.null_mx) {
      co_return Result{
          .status = ours("5.1.10", "the recipient domain accepts no mail (null MX)", true),
          .decision = *first};
    }
    if (mx.info.security == dns::Security::bogus) {
      co_return Result{.status = ours("4.7.5", "DNSSEC validation of the MX records failed"),
                       .decision = *first,
                       .tls_requirement_failed = true};
    }
    if (mx.info.outcome != dns::Outcome::ok || mx.hosts.empty()) {
      co_return Result{.status = ours("4.4.3", "the MX lookup failed; will try again"),
                       .decision = *first};
    }
    // RFC 5321 5.1: equal preferences in random order.
    std::vector<dns::MxHost> hosts = mx.hosts;
    for (std::size_t i = 0; i < hosts.size();) {
      std::size_t j = i;
      while (j < hosts.size() && hosts[j].preference == hosts[i].preference) ++j;
      std::shuffle(hosts.begin() + static_cast<std::ptrdiff_t>(i),
                   hosts.begin() + static_cast<std::ptrdiff_t>(j), jitter);
      i = j;
    }

    Result last{.status = ours("4.4.1", "no MX host could be reached"), .decision = *first};
    std::size_t outside_sts = 0;  // MX hosts the enforce MTA-STS policy does not name
    for (const auto& host : hosts) {
      auto addresses = co_await resolver.async_addresses(host.host, use_awaitable);
      if (addresses.info.security == dns::Security::bogus) {
        last = Result{.status = ours("4.7.5", "DNSSEC validation of the MX host failed"),
                      .mx_host = host.host,
                      .decision = *first,
                      .tls_requirement_failed = true};
        continue;
      }
      if (addresses.info.outcome != dns::Outcome::ok || addresses.addresses.empty()) {
        last = Result{.status = ours("4.4.3", "the MX host has no address"),
                      .mx_host = host.host,
                      .decision = *first};
        continue;
      }
      // DANE applies only when the MX chain and the host's addresses are validated.
      in.dane = policy::Dane::absent;
      std::vector<dns::TlsaRecord> tlsa;
      const bool chain_secure = mx.info.security == dns::Security::secure;
      if (resolver.validating() && chain_secure) {
        for (const auto& name : dns::tlsa_query_names(addresses.info, options.remote_port)) {
          auto answer = co_await resolver.async_tlsa(name, use_awaitable);
          if (answer.info.security == dns::Security::bogus) {
            in.dane = policy::Dane::bogus;
            break;
          }
          if (answer.info.outcome == dns::Outcome::ok && answer.info.authenticated() &&
              !answer.records.empty()) {
            for (const auto& t : answer.records) {
              if (smtp::usable_for_smtp(smtp::Tlsa{t.usage, t.selector, t.matching_type, t.data}))
                tlsa.push_back(t);
            }
            // Records, none usable: RFC 7672 2.2: as if there were none (no downgrade of
            // anything else, just no DANE authentication).
            in.dane = tlsa.empty() ? policy::Dane::absent : policy::Dane::usable;
            break;
          }
          if (answer.info.outcome == dns::Outcome::servfail ||
              answer.info.outcome == dns::Outcome::timeout) {
            // A TLSA lookup that fails cannot be told from an attack: defer (RFC 7672 2.2).
            in.dane = policy::Dane::bogus;
            break;
          }
        }
      }
      auto decision = policy::decide(in);
      if (!decision)
        co_return Result{.status = ours("5.7.1", decision.error().public_text(), true)};
      if (in.dane == policy::Dane::bogus) {
        last = Result{.status = ours("4.7.5", "the TLSA lookup failed or was not validated"),
                      .mx_host = host.host,
                      .decision = *decision,
                      .tls_requirement_failed = true};
        continue;
      }
      // RFC 8461 §4.1: under an enforce policy, only the MX hosts its patterns name are used
      // (a usable DANE record wins over MTA-STS: policy.hpp).
      if (in.dane != policy::Dane::usable && !sts.allows(host.host)) {
        spdlog::info("event=mail_mta_sts_mx_skipped message={} domain={} mx={}", g.message_id,
                     core::log_safe(g.domain), core::log_safe(host.host));
        ++outside_sts;
        continue;
      }
      for (const auto& address : addresses.addresses) {
        smtp::Destination dest;
        dest.address = address;
        dest.port = options.remote_port;
        dest.mx_host = host.host;
        dest.ehlo_name = options.ehlo_name;
        dest.tls = requirement_of(*decision, options.ca_file, tlsa,
                                  in.dane != policy::Dane::usable && sts.policy &&
                                      sts.policy->mode == mtasts::Mode::testing);
        dest.timeouts = options.timeouts;
        std::string key = connection_key(dest);
        auto session = take_idle(key);
        const bool pooled = session != nullptr;
        if (!session) session = smtp::Session::create(strand, dest);
        smtp::Transaction tx = transaction_of(loaded, g);
        auto report = co_await deliver(session, std::move(tx));
        if (pooled && never_tried(report)) {
          // The pooled connection closed (its idle timer's QUIT) between take_idle and the
          // transaction's start on its strand: that says nothing about the receiver, so the
          // transaction goes once more, on a connection of its own.
          co_await release_session(key, session, false);
          session = smtp::Session::create(strand, std::move(dest));
          smtp::Transaction again = transaction_of(loaded, g);
          report = co_await deliver(session, std::move(again));
        }
        const bool usable = report.connection_usable;
        co_await release_session(key, session, usable);
        // The whole transaction's status: the first recipient's tells how far it got.
        Result r{.status = report.recipients.empty() ? ours("4.3.0", "no result")
                                                     : report.recipients.front().status,
                 .mx_host = host.host,
                 .ip = address.to_string(),
                 .tls = report.tls,
                 .decision = *decision};
        for (const auto& t : tlsa) {
          std::string hex;
          for (auto b : t.data) hex += fmt::format("{:02x}", b);
          r.tlsa_text.push_back(
              fmt::format("{} {} {} {}", t.usage, t.selector, t.matching_type, hex));
        }
        r.tls_requirement_failed = is_tls_failure(r.status);
        for (const auto& rr : report.recipients) r.per_recipient[rr.recipient] = rr.status;
        const bool reached = r.status.stage != smtp::Stage::connect &&
                             r.status.stage != smtp::Stage::greeting &&
                             r.status.stage != smtp::Stage::ehlo &&
                             r.status.stage != smtp::Stage::helo && !r.tls_requirement_failed;
        if (reached || r.status.outcome != smtp::Outcome::temporary) co_return r;
        last = std::move(r);  // this address or MX would not talk: try the next
      }
    }
    if (outside_sts > 0 && outside_sts == hosts.size()) {
      co_return Result{.status = ours("4.7.5", "no MX host matches the MTA-STS policy"),
                       .decision = *first,
                       .tls_requirement_failed = true,
                       .sts_no_mx = true};
    }
    co_return last;
  }

  // In the unit of work recording `failed`: the sender's bounce notice, queued with its audit
  // entry. A notice that cannot be built (a sender we cannot write to, a damaged row) is
  // logged and left out: the failures are recorded all the same.
  core::Status queue_bounce(store::Store& tx, const std::vector<FailedRecipient>& failed) {
    const std::string& id = failed.front().attempt.message_id;
    auto original = tx.mail().find_message_blocking(id, true);
    if (!original) return core::fail(original.error());
    if (!*original) return core::ok();
    core::SystemRng rng;
    auto notice =
        prepare_bounce(**original, failed, signer, queue_key, options.ehlo_name, clock.now(), rng);
    if (!notice) {
      spdlog::warn("event=mail_bounce_not_sent message={} reason={}", id,
                   core::log_safe(notice.error().public_text()));
      return core::ok();
    }
    if (!*notice) return core::ok();  // the original had a null sender: never bounce a bounce
    return enqueue_in(tx, auditor, **notice, "system", "local", "dsn-for:" + id);
  }

  // In the unit of work recording a recipient left awaiting_fallback: its sealed copy, or
  // nullopt (no key or certificate; or the copy cannot be made, which is logged: the
  // recipient then waits, as without a fallback).
  core::Result<std::optional<FallbackCopy>> fallback_copy(store::Store& tx, const std::string& id,
                                                          const std::string& address) {
    auto original = tx.mail().find_message_blocking(id, true);
    if (!original) return core::fail(original.error());
    if (!*original || (*original)->body.empty()) return std::optional<FallbackCopy>();
    core::SystemRng rng;
    auto copy = prepare_fallback(**original, address, tx.forms(), *options.sealer, signer,
                                 queue_key, options.ehlo_name, clock.now(), rng, options.escrow);
    if (!copy) {
      if (copy.error().kind() == core::ErrorKind::unavailable) return core::fail(copy.error());
      spdlog::warn("event=mail_fallback_not_sent message={} reason={}", id,
                   core::log_safe(copy.error().public_text()));
      return std::optional<FallbackCopy>();
    }
    return copy;
  }

  awaitable<void> record(const Group& g, const Result& summary) {
    const std::int64_t t = now();
    const bool expired = t - g.created_at >= options.expire.count();
    std::vector<std::pair<store::MailAttempt, std::int64_t>> rows;
    for (const auto& r : g.recipients) {
      smtp::Status status = summary.status;
      if (auto it = summary.per_recipient.find(r.address);
          it != summary.per_recipient.end() && !summary.tls_requirement_failed) {
        status = it->second;
      }
      store::MailAttempt a;
      a.message_id = g.message_id;
      a.idx = r.idx;
      a.at = t;
      a.code = status.code;
      a.enhanced = status.enhanced;
      a.reply = status.text.substr(0, 512);
      a.mx_host = summary.mx_host;
      a.ip = summary.ip;
      if (summary.tls.tls) {
        a.tls_version = summary.tls.version;
        a.tls_cipher = summary.tls.cipher;
      }
      a.verified = summary.sts.verified(verified_name(summary.tls, summary.decision));
      a.policy = std::string(policy::policy_name(summary.decision.effective));
      a.sts_mode = summary.sts.mode;
      a.sts_id = summary.sts.id;
      a.tls_failure = summary.sts.failure;
      std::int64_t next = 0;
      switch (status.outcome) {
        case smtp::Outcome::delivered:
          a.result = MailState::delivered;
          break;
        case smtp::Outcome::permanent:
          a.result = MailState::bounced;
          break;
        case smtp::Outcome::temporary:
          if (is_tls_failure(status) && summary.decision.on_failure == policy::OnFailure::drop) {
            a.result = MailState::dropped;
          } else if (is_tls_failure(status) &&
                     summary.decision.on_failure == policy::OnFailure::fallback) {
            a.result = MailState::awaiting_fallback;
          } else if (expired) {
            a.result = MailState::bounced;
            a.reply =
                "expired after " + std::to_string(options.expire.count()) + " s; last: " + a.reply;
          } else {
            a.result = MailState::deferred;
            std::uniform_real_distribution<double> unit(0.0, 1.0);
            next = t + backoff(r.attempts + 1, options.retry_first, options.retry_max, unit(jitter))
                           .count();
          }
          break;
      }
      rows.emplace_back(std::move(a), next);
    }
    const bool used_tls = summary.tls.tls && summary.tls.version.size() > 0;
    const std::string domain = g.domain;
    const std::string owner = options.node_id;
    std::map<int, std::string> addresses;
    for (const auto& r : g.recipients) addresses[r.idx] = r.address;
    std::vector<store::TlsSessionCount> sessions;
    if (summary.tls_session) sessions.push_back(*summary.tls_session);
    // One unit of work for the group: every attempt with its audit entry, and the bounce
    // notice for the recipients that failed for good. It may run twice (its batch failed,
    // then alone), so it starts from nothing each time.
    std::vector<int> lost;
    std::map<int, store::MailAttempt> recorded;  // as recorded (a fallback changes some)
    RecordBody body = [this, &rows, &lost, &recorded, used_tls, domain, owner, t, addresses,
                       sessions, message_id = g.message_id](store::Store& tx) -> core::Status {
      lost.clear();
      recorded.clear();
      std::vector<FailedRecipient> failed;
      for (const auto& [row, next] : rows) {
        // A copy: the fallback may change it, and a second run starts from the row again.
        store::MailAttempt attempt = row;
        std::optional<FallbackCopy> copy;
        if (attempt.result == MailState::awaiting_fallback && options.sealer != nullptr) {
          auto made = fallback_copy(tx, attempt.message_id, addresses.at(attempt.idx));
          if (!made) return core::Status(core::fail(made.error()));
          copy = std::move(*made);
          if (copy) {
            // Final here: the copy, queued in this same unit of work, carries it on.
            attempt.result = MailState::dropped;
            attempt.reply = fmt::format(
                "no acceptable TLS: sent by message-level encryption ({}) "
                "as message {}",
                copy->how, copy->prepared.record.id);
          }
        }
        auto r = tx.mail().record_attempt_blocking(owner, attempt, next);
        if (!r) return core::Status(core::fail(r.error()));
        if (!*r) {
          lost.push_back(attempt.idx);
          continue;
        }
        recorded[attempt.idx] = attempt;
        if (copy) {
          auto q = commit_fallback_in(tx, auditor, *copy, attempt.message_id, attempt.idx);
          if (!q) return q;
        }
        auto a = auditor.record_in_blocking(
            tx, "system", "mail." + std::string(store::mail_state_name(attempt.result)),
            fmt::format("message:{} recipient:{} domain:{} mx:{} tls:{} verified:{} "
                        "policy:{} reply:{} {}",
                        attempt.message_id, attempt.idx, domain,
                        attempt.mx_host.empty() ? "-" : attempt.mx_host,
                        attempt.tls_version.empty() ? "none" : attempt.tls_version,
                        attempt.verified.empty() ? "-" : attempt.verified, attempt.policy,
                        attempt.code, attempt.enhanced),
            "local", "ok");
        if (!a) return a;
        // The integrators' webhooks, in the same unit: ids and the domain only.
        if (attempt.result == MailState::delivered || attempt.result == MailState::bounced ||
            attempt.result == MailState::dropped || attempt.result == MailState::deferred) {
          const auto event = webhooks::message_event(
              "message." + std::string(store::mail_state_name(attempt.result)), attempt.message_id,
              attempt.idx, domain, attempt.at);
          auto queued =
              tx.webhooks().enqueue_event_blocking(event.id, event.type, event.payload, t);
          if (!queued) return core::Status(core::fail(queued.error()));
        }
        if (attempt.result == MailState::bounced)
          failed.push_back({.address = addresses.at(attempt.idx), .attempt = attempt});
      }
      // M4's memory and TLS-RPT's tally commit with the attempts they come from.
      if (used_tls) {
        if (auto seen = tx.mail().note_tls_seen_blocking(domain, t); !seen) return seen;
      }
      if (auto tally = tx.mail().add_tls_sessions_blocking(sessions); !tally) return tally;
      if (!failed.empty()) {
        if (auto bounce = queue_bounce(tx, failed); !bounce) return bounce;
      }
      // The last recipient final (the bounce notice has its copy of the header): the body
      // is no longer needed, and no longer kept.
      auto erased = tx.mail().erase_body_if_final_blocking(message_id);
      if (!erased) return core::Status(core::fail(erased.error()));
      return core::ok();
    };
    auto stored = co_await record_unit(std::move(body));
    if (stored) {
      for (const int idx : lost) {
        spdlog::warn("event=mail_lease_lost message={} recipient={}", rows.front().first.message_id,
                     idx);
      }
    }
    if (!stored) {
      // The lease runs out and another attempt follows: at most these recipients again.
      spdlog::error("event=mail_record_failed message={} detail={}", g.message_id,
                    core::log_safe(stored.error().detail()));
    }
    for (const auto& [row, next] : rows) {
      const auto it = stored ? recorded.find(row.idx) : recorded.end();
      const store::MailAttempt& attempt = it != recorded.end() ? it->second : row;
      if (stored && options.on_attempt) options.on_attempt(attempt);
      // M10: never a body or a subject; the recipient by position, the domain by name.
      spdlog::info(
          "event=mail_attempt message={} recipient={} domain={} result={} mx={} ip={} tls={} "
          "cipher={} verified={} policy={} code={} enhanced={}",
          attempt.message_id, attempt.idx, core::log_safe(domain),
          store::mail_state_name(attempt.result), core::log_safe(attempt.mx_host), attempt.ip,
          attempt.tls_version.empty() ? "none" : attempt.tls_version,
          attempt.tls_cipher.empty() ? "-" : attempt.tls_cipher,
          attempt.verified.empty() ? "-" : attempt.verified, attempt.policy, attempt.code,
          attempt.enhanced);
    }
  }
};

Delivery::Delivery(net::io_context& io, store::Store& store, core::BlockingPool& pool,
                   dns::Resolver& resolver, const core::SecretBytes& queue_key,
                   const dkim::Signer& signer, audit::Auditor& auditor, const core::Clock& clock,
                   DeliveryOptions options)
    : impl_(std::make_shared<Impl>(io, store, pool, resolver, queue_key, signer, auditor, clock,
                                   std::move(options))) {}

Delivery::~Delivery() = default;

void Delivery::start() {
  net::post(impl_->strand, [impl = impl_] {
    impl->claim();
    impl->schedule();
    impl->schedule_renewal();
  });
}

void Delivery::stop(std::function<void()> done) {
  net::post(impl_->strand, [impl = impl_, done = std::move(done)]() mutable {
    impl->stopping = true;
    impl->timer.cancel();
    impl->renew_timer.cancel();
    impl->on_stopped = std::move(done);
    impl->maybe_stopped();
  });
}

}  // namespace mail::queue
