#pragma once
// Trust: untrusted network input (the integrator's endpoint: only its status is read).
//
// webhooks::Sender: the worker each `sealpost serve` node runs. One thread: it claims due
// deliveries from the shared queue (store::WebhookStore, leased for kLease, so two nodes
// never send one at the same time), unseals the webhook's secret, signs the body (Standard
// Webhooks), POSTs it with mail::https (our resolver, verified TLS 1.2+, the CA file of
// [mail] ca_file, hard limits, one deadline), and records the outcome under its lease: 2xx
// delivered; anything else retried with jittered exponential backoff until kGiveUpAfter or
// kMaxAttempts, then failed. Nothing of the body or of the response reaches a log.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include "core/clock.hpp"
#include "core/secret.hpp"
#include "mail/dns/resolver.hpp"
#include "store/store.hpp"

namespace webhooks {

// The delay before retry number `attempts` + 1 (attempts >= 1 made): kRetryFirst doubled
// per attempt, at most kRetryMax, scaled by 0.8 + 0.4 * `unit` (unit in [0, 1)).
std::chrono::seconds retry_delay(int attempts, double unit);

struct SenderOptions {
  std::string node_id;  // the lease owner: unique per node and process
  std::string ca_file;  // "" = the system store
  // Tests only: another deadline for one exchange.
  std::chrono::milliseconds timeout{0};
};

class Sender {
 public:
  Sender(store::Store& store, mail::dns::Resolver& resolver, const core::SecretBytes& seal_key,
         const core::Clock& clock, SenderOptions options);
  ~Sender();
  Sender(const Sender&) = delete;
  Sender& operator=(const Sender&) = delete;

  void start();
  // Finishes the exchange in progress, joins the thread, releases this node's leases.
  void stop();

  // One round: claims what is due and sends it. How many were attempted.
  std::size_t run_once_blocking();

 private:
  void send_blocking(const store::ClaimedWebhookDelivery& claimed, std::int64_t now);
  void loop();

  store::Store& store_;
  mail::dns::Resolver& resolver_;
  const core::SecretBytes& seal_key_;
  const core::Clock& clock_;
  SenderOptions options_;
  std::mt19937_64 jitter_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace webhooks
