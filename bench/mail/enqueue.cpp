// sealpost_mail_enqueue: puts N messages into a sealpost data directory's outbound queue
// the way `sealpost mail send` does (mail::queue::prepare: built, DKIM-signed, sealed; then
// MailStore::enqueue_blocking with a "mail.queue" audit entry in the same unit of work), but
// in one process and `--batch` messages per unit of work, because a process per message
// (what `mail send` is) would be the bottleneck of bench/mail/run.sh, not the queue.
// It stands in for `POST /api/v1/messages` until that exists.
//
//   sealpost_mail_enqueue --data DIR --count N --to ADDR --label L
//                         [--body-bytes 5000] [--batch 50] [--security verify]
//
// Each message's Subject is "bench <label> <enqueue time, ns since the epoch>" (the sink
// reads it back: time in queue), its text body --body-bytes of printable ASCII in lines of
// 76. The time is taken just before the message is prepared; its batch commits a few
// milliseconds later. Prints one line: "ENQUEUED n=<N> seconds=<wall> cpu_seconds=<cpu>".
//
// Benchmark tool only: it writes into the data directory it is given.

#include <fmt/format.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "app/cli_support.hpp"
#include "app/config.hpp"
#include "app/data_dir.hpp"
#include "app/files.hpp"
#include "app/mail_commands.hpp"
#include "audit/auditor.hpp"
#include "core/clock.hpp"
#include "core/rng.hpp"
#include "mail/mime/address.hpp"
#include "mail/policy/policy.hpp"
#include "mail/queue/compose.hpp"

namespace {

struct Options {
  std::string data;
  long count = 0;
  std::string to;
  std::string label;
  long body_bytes = 5000;
  long batch = 50;
  std::string security = "verify";
};

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: sealpost_mail_enqueue --data DIR --count N --to ADDR --label L "
               "[--body-bytes 5000] [--batch 50] [--security verify]\n");
  std::exit(2);
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "sealpost_mail_enqueue: %s\n", what.c_str());
  std::exit(1);
}

std::int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// The same text bench/mail/inject.py gives Postfix: message number n, then filler lines.
std::string body_text(long n, long bytes) {
  std::string body = fmt::format("Benchmark message {}.\n", n);
  static constexpr std::string_view kLine =
      "The quick brown fox jumps over the lazy dog; 0123456789 pack my box with fiv";
  while (static_cast<long>(body.size()) + static_cast<long>(kLine.size()) + 1 <= bytes) {
    body.append(kLine);
    body.push_back('\n');
  }
  return body;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (i + 1 >= argc) usage();
    std::string v = argv[++i];
    if (a == "--data") {
      o.data = v;
    } else if (a == "--count") {
      o.count = std::atol(v.c_str());
    } else if (a == "--to") {
      o.to = v;
    } else if (a == "--label") {
      o.label = v;
    } else if (a == "--body-bytes") {
      o.body_bytes = std::atol(v.c_str());
    } else if (a == "--batch") {
      o.batch = std::max(1L, std::atol(v.c_str()));
    } else if (a == "--security") {
      o.security = v;
    } else {
      usage();
    }
  }
  if (o.data.empty() || o.count <= 0 || o.to.empty() || o.label.empty()) usage();

  app::DataDir dir(o.data);
  auto config = app::load_config(dir);
  if (!config) die(config.error().public_text());
  auto from = mail::Address::parse(config->mail.default_sender);
  if (!from) die("[mail] default_sender is not set");
  auto to = mail::Address::parse(o.to);
  if (!to) die("--to: " + to.error().public_text());
  auto policy = mail::policy::parse_policy(o.security);
  if (!policy) die("--security: " + policy.error().public_text());
  const std::string hostname = app::mail_hostname(*config);

  core::SystemClock clock;
  core::SystemRng rng;
  auto key = app::load_or_create_seal_key(dir.queue_key(), rng);
  if (!key) die(key.error().public_text());
  auto signer = app::load_mail_signer(dir, *config);
  if (!signer) die(signer.error().public_text());
  auto store = app::open_store(dir);
  if (!store) die(store.error().public_text());
  auto signing_key = app::read_secret_file(dir.signing_secret_key(), app::kMaxSigningKeyBytes);
  if (!signing_key) die(signing_key.error().public_text());
  audit::Auditor auditor(**store, *signing_key, clock, dir.audit_checkpoint_log());
  const std::string actor = app::cli_actor();

  const auto start = std::chrono::steady_clock::now();
  const double cpu0 = cpu_seconds();
  std::vector<mail::queue::Prepared> batch;
  for (long n = 0; n < o.count;) {
    batch.clear();
    for (; n < o.count && static_cast<long>(batch.size()) < o.batch; ++n) {
      mail::queue::Outgoing out{.from = *from};
      out.to.push_back(*to);
      out.subject = fmt::format("bench {} {}", o.label, now_ns());
      out.text_body = body_text(n, o.body_bytes);
      out.security = *policy;
      out.origin = actor;
      auto prepared = mail::queue::prepare(out, *signer, *key, hostname, clock.now(), rng);
      if (!prepared) die(prepared.error().public_text());
      batch.push_back(std::move(*prepared));
    }
    auto s = (*store)->transact_blocking("bench enqueue", [&](store::Store& tx) -> core::Status {
      for (const auto& p : batch) {
        if (auto q = tx.mail().enqueue_blocking(p.record, p.recipients); !q) return q;
        auto r = auditor.record_in_blocking(
            tx, actor, "mail.queue",
            fmt::format("message:{} recipients:{} policy:{} phi:{} bytes:{}", p.record.id,
                        p.recipients.size(), p.record.security, p.record.phi ? "yes" : "no",
                        p.record.size),
            app::kLocalSource, "ok");
        if (!r) return r;
      }
      return core::ok();
    });
    if (!s) die(s.error().public_text());
    if (auto c = auditor.settle_blocking(); !c) die(c.error().public_text());
  }
  if (auto f = auditor.finish_blocking(); !f) die(f.error().public_text());
  (*store)->close();
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("ENQUEUED n=%ld seconds=%.3f cpu_seconds=%.3f\n", o.count, wall,
              cpu_seconds() - cpu0);
  return 0;
}
