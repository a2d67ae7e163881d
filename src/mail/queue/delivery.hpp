#pragma once
// The delivery engine: takes due recipients out of the shared queue (leases), and for each
// (message, recipient domain) runs: policy -> MX (DNS, DNSSEC) -> addresses -> TLSA (DANE)
// -> SMTP session with the TLS the policy requires -> one outcome per recipient, recorded
// with its audit entry in one unit of work before the lease is given up.
//
// Life of a message: docs/ARCHITECTURE.md. Outcomes per recipient: delivered; deferred (a
// temporary failure: due again after a jittered exponential backoff; bounced once the
// message is older than `expire`); bounced (a permanent failure; the sender gets one
// notice, bounce.hpp); dropped (policy
// `exclusive` and no acceptable TLS); awaiting_fallback (policy `forced` and no acceptable
// TLS: the message-level encryption of issue 9 will take it).
//
// Exactly-once: a recipient is leased to one node; the attempt and the new state are
// recorded before the lease ends. A crash between the remote's 250 and that record sends
// the leased recipients again after the lease expires, and nothing else.

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "audit/auditor.hpp"
#include "core/blocking_pool.hpp"
#include "core/clock.hpp"
#include "core/secret.hpp"
#include "mail/dkim/signer.hpp"
#include "mail/dns/resolver.hpp"
#include "mail/policy/policy.hpp"
#include "mail/queue/escrow.hpp"
#include "mail/secure/sealer.hpp"
#include "mail/smtp/limits.hpp"
#include "store/store.hpp"

namespace mail::queue {

struct DeliveryOptions {
  std::string node_id;    // lease owner: unique per running process
  std::string ehlo_name;  // our FQDN
  std::uint16_t remote_port = 25;
  std::string ca_file;  // "" = system store
  policy::Policy default_policy = policy::Policy::opportunistic;
  std::map<std::string, policy::Policy> domain_policies;  // lowercase domain -> policy
  std::chrono::seconds retry_first{300};
  std::chrono::seconds retry_max{3600};
  std::chrono::seconds expire{5 * 86400};
  // How long a claim holds a recipient. A live node renews its leases every third of this
  // while it works on them, so a slow session never loses its lease; a node that dies
  // leaves them to expire, and another node takes them over after at most this long.
  std::chrono::seconds lease{120};
  std::size_t max_connections = 32;
  std::size_t max_per_domain = 4;
  std::chrono::milliseconds poll{1000};  // how often the queue is asked for due work
  smtp::Timeouts timeouts;
  // Told of every attempt recorded (metrics), on the strand; never a body or an address.
  std::function<void(const store::MailAttempt&)> on_attempt;
  // Policy `forced`'s fallback (fallback.hpp): a recipient left without acceptable TLS that
  // has a key or certificate gets a sealed copy. nullptr: it waits in awaiting_fallback.
  // Must outlive the Delivery.
  const secure::Sealer* sealer = nullptr;
  // The secure-message portal (escrow.hpp): with its origin set, `forced`'s fallback gives a
  // recipient without a key or certificate a portal copy and its notice (fallback.hpp).
  const EscrowSettings* escrow = nullptr;
};

class Delivery {
 public:
  // Everything passed must outlive the Delivery.
  // `signer` signs the bounce notices (bounce.hpp) this node queues.
  Delivery(boost::asio::io_context& io, store::Store& store, core::BlockingPool& pool,
           dns::Resolver& resolver, const core::SecretBytes& queue_key, const dkim::Signer& signer,
           audit::Auditor& auditor, const core::Clock& clock, DeliveryOptions options);
  ~Delivery();
  Delivery(const Delivery&) = delete;
  Delivery& operator=(const Delivery&) = delete;

  void start();
  // Stops claiming; attempts in flight finish and are recorded; then the node's remaining
  // leases are released and `done` runs (on the io_context).
  void stop(std::function<void()> done);

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// The backoff before attempt `attempts + 1`: retry_first * 2^(attempts - 1), capped at
// retry_max, then spread by +-20% (`unit` in [0, 1) from the caller's randomness) so that
// recipients deferred together do not come back together.
std::chrono::seconds backoff(int attempts, std::chrono::seconds first, std::chrono::seconds cap,
                             double unit);

}  // namespace mail::queue
