#pragma once
// The submission server's Backend (server.hpp) on sealpost: keys through the HTTP API's own
// check (mail::api::MessagesApi: the same lockout, shared on PostgreSQL), messages into the
// queue through the same Outbox and the same rules as POST /api/v1/messages.
// Trust: untrusted network input (an authenticated client's envelope and message).
//
//   - AUTH: the user name is the API key's name (or its id), the password the key; scope
//     messages:send. A failure is audited (submission.auth_failed, source the client's
//     address; never the user name or the key) besides the API's log line and lockout.
//   - MAIL FROM: an address at the domain messages are DKIM-signed for, as the API's From;
//     each MAIL takes one message from the key's budget (451 4.7.1 when it is spent).
//   - the message (message.hpp): its From must be the MAIL FROM address; every RCPT TO must
//     be named in To or Cc (the queue writes one To line for all recipients, so a blind copy
//     would not stay blind: it is refused rather than disclosed); the subject marker
//     ([submission] secure_marker) asks for message-level encryption: it is taken out of
//     the subject and the message is queued as the API's "security": "encrypt" would be
//     (each recipient's OpenPGP key or S/MIME certificate; a recipient with neither is
//     refused, 554, and nothing is queued).
//   - policy: [mail] default_policy; phi false (as an API request that names neither).
//   - 250 only once the Outbox has committed the message and its audit entry (actor
//     api:<key id>, the API's, so GET /api/v1/messages/{id} shows it to the same key).

#include <string>

#include "audit/auditor.hpp"
#include "core/clock.hpp"
#include "core/rate_limiter.hpp"
#include "mail/api/messages_api.hpp"
#include "mail/policy/policy.hpp"
#include "mail/queue/outbox.hpp"
#include "mail/submission/limits.hpp"
#include "mail/submission/server.hpp"
#include "store/shared_budget.hpp"

namespace mail::submission {

struct SubmitterOptions {
  policy::Policy default_policy = policy::Policy::opportunistic;
  std::string secure_marker = "[secure]";  // "" = no marker
  // Messages per key (limits.hpp): each MAIL takes one.
  double messages_per_minute = kMessagesPerMinutePerKey;
  double messages_burst = kMessagesBurstPerKey;
};

class Submitter : public Backend {
 public:
  // `outbox` nullptr: mail is not set up here (AUTH answers 454). `shared_budget`: the
  // per-key budget all nodes on the database spend together (nullptr: this node's memory
  // only). Everything passed must outlive the Submitter. Thread-safe.
  Submitter(api::MessagesApi& api, queue::Outbox* outbox, audit::Auditor& auditor,
            const core::Clock& clock, SubmitterOptions options,
            store::SharedBudget* shared_budget = nullptr)
      : api_(api),
        outbox_(outbox),
        auditor_(auditor),
        options_(std::move(options)),
        limiter_(clock, options_.messages_per_minute, options_.messages_burst),
        shared_budget_(shared_budget) {}

  AuthResult authenticate_blocking(const Credentials* credentials,
                                   const std::string& remote_address, std::string& key_id) override;
  std::string mail_blocking(const std::string& key_id, const Address& sender) override;
  std::string submit_blocking(const Envelope& envelope, core::SecretBytes& message,
                              const std::string& remote_address) override;

 private:
  api::MessagesApi& api_;
  queue::Outbox* outbox_;
  audit::Auditor& auditor_;
  const SubmitterOptions options_;
  core::RateLimiter limiter_;  // per key, this node
  store::SharedBudget* shared_budget_;
};

}  // namespace mail::submission
