#pragma once
// Trust: DNS answers (the `_mta-sts` TXT record, through policy.hpp's parser), policies
// fetched over verified HTTPS (fetch.hpp), and our own cache rows.
//
// Which MTA-STS policy applies to a recipient domain now (RFC 8461 §5.1), asked once per
// (message, recipient domain) before its MX lookup — never per MX set, so that two domains
// sharing MX hosts never share a policy (KumoMTA issue #484):
//   1. look up the TXT record `_mta-sts.<domain>`;
//   2. read the cached policy (store::MailStore, table mail_mta_sts);
//   3. the TXT id equals the cached policy's and the cache is fresh: use the cache (and,
//      once it is older than kRefreshAfter or half its max_age, fetch it again in the
//      background: the delivery does not wait, a failure keeps the cache);
//      no TXT record (or a failed or ambiguous lookup): use the cache if fresh, else none;
//      otherwise: fetch the policy, cache it and use it;
//   4. a failed fetch keeps using a fresh cached policy (whatever its id); with none, the
//      domain is treated as having no policy (§5.1), and the failure is logged and noted.
// A policy of mode none is cached like any other, and applies nothing.

#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/blocking_pool.hpp"
#include "core/clock.hpp"
#include "mail/dns/resolver.hpp"
#include "mail/mtasts/fetch.hpp"
#include "mail/mtasts/policy.hpp"
#include "mail/policy/policy.hpp"
#include "store/store.hpp"

namespace mail::mtasts {

// The MTA-STS policy in force for one recipient domain.
struct Applied {
  enum class Source { none, cache, fetched };
  Source source = Source::none;
  // The policy, when its mode is enforce or testing.
  std::optional<Policy> policy;
  // The policy's id; with no policy but a failed fetch, the id the TXT record announced.
  std::string id;
  // A TXT record announced a policy that could not be had, and no fresh one was cached.
  FetchFailure failure = FetchFailure::none;

  bool enforce() const { return policy && policy->mode == Mode::enforce; }
  // For policy::Inputs::mta_sts: set for enforce and testing (decide() acts on enforce).
  std::optional<policy::MtaSts> input() const;
  // RFC 8461 §4.1: with an enforce policy, only an MX host matching one of its patterns may
  // be used. Always true without one (testing only reports a mismatch).
  bool allows(std::string_view mx_host) const;
};
std::string_view source_name(Applied::Source source);

// What the TXT lookup found, for plan().
enum class TxtStatus {
  absent,   // no record (NXDOMAIN, NODATA, no v=STSv1 string, or an invalid/ambiguous one)
  present,  // exactly one valid record, with its id
  failed,   // SERVFAIL, timeout or a bogus DNSSEC answer: nothing can be concluded
};

enum class Step { none, use_cache, use_cache_and_refresh, fetch };

// Step 3 above (pure). A cached policy is fresh while now < expires_at.
Step plan(TxtStatus txt, std::string_view txt_id, const std::optional<store::MtaStsRecord>& cached,
          std::int64_t now);
// The cached row as an Applied (source cache; mode none applies no policy).
Applied from_cache(const store::MtaStsRecord& cached);
// The row to cache for a policy fetched at `now` for the TXT id `id`.
store::MtaStsRecord to_cache(const std::string& domain, const std::string& id, const Policy& policy,
                             std::int64_t now);

class PolicyLookup {
 public:
  using Handler = std::function<void(Applied)>;

  // Everything passed must outlive the PolicyLookup. Store reads and writes run on `pool`;
  // handlers are posted to `executor`.
  PolicyLookup(boost::asio::any_io_executor executor, dns::Resolver& resolver, store::Store& store,
               core::BlockingPool& pool, const core::Clock& clock, FetchOptions options);
  ~PolicyLookup();
  PolicyLookup(const PolicyLookup&) = delete;
  PolicyLookup& operator=(const PolicyLookup&) = delete;

  // The policy for `domain` (lower case, no trailing dot). `handler` runs exactly once.
  // Never fails: what cannot be looked up is logged and applies no policy (or the cached one).
  void async_lookup(std::string domain, Handler handler);

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace mail::mtasts
