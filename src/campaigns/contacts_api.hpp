#pragma once
// The contacts API (issue 11, C1), apart from HTTP: app/api_routes.cpp carries requests in.
// Trust: untrusted network input; authentication is the messages API's (the same keys,
// lockout and log lines: mail::api::MessagesApi::authenticate_for_blocking).
//
//   POST /api/v1/contacts         scope contacts:write -> 201 {"id","created":true} for a new
//                                 address, 200 {"id","created":false} for a known one; sets
//                                 the given fields (sealed), adds the authorisation if asked
//                                 (campaigns/input.hpp has the body)
//   POST /api/v1/contacts/revoke  scope contacts:write -> 200 {"revoked": N} (N = 0 when the
//                                 contact held none in force); 404 for an unknown address
//   GET  /api/v1/contacts/{id}    scope contacts:read  -> 200 the contact: times, source,
//                                 field names (never values), authorisations
//
// Each change commits with its audit entry (contact.upsert, authorisation.revoke; actor
// api:<key id>, source the client address; the contact by id, never its address). The
// purpose must be one of [contacts] purposes.

#include <string>
#include <string_view>
#include <vector>

#include "audit/auditor.hpp"
#include "core/clock.hpp"
#include "core/rng.hpp"
#include "core/secret.hpp"
#include "mail/api/messages_api.hpp"
#include "store/store.hpp"

namespace campaigns {

using mail::api::Call;
using mail::api::Reply;

class ContactsApi {
 public:
  // Everything passed must outlive the ContactsApi. Thread-safe apart from `rng`, which
  // must be (core::SystemRng is).
  ContactsApi(store::Store& store, audit::Auditor& auditor, mail::api::MessagesApi& keys,
              const core::SecretBytes& contacts_key, core::Rng& rng, const core::Clock& clock,
              std::vector<std::string> purposes);

  // Each blocks on the store: call them from the blocking pool.
  Reply upsert_blocking(const Call& call);
  Reply revoke_blocking(const Call& call);
  Reply show_blocking(const Call& call, std::string_view id);

 private:
  bool known_purpose(std::string_view purpose) const;

  store::Store& store_;
  audit::Auditor& auditor_;
  mail::api::MessagesApi& keys_;
  const core::SecretBytes& contacts_key_;
  core::Rng& rng_;
  const core::Clock& clock_;
  const std::vector<std::string> purposes_;
};

}  // namespace campaigns
