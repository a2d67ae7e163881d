#pragma once
// The HTTP messages API on the public HTTPS listener (issue 8): POST /api/v1/messages and
// GET /api/v1/messages/{id}, run on the blocking pool through mail::api::MessagesApi. Maps
// its outcomes to statuses and headers; the API's logic is in src/mail/api/.

#include "campaigns/contacts_api.hpp"
#include "campaigns/input.hpp"
#include "core/blocking_pool.hpp"
#include "http/router.hpp"
#include "mail/api/messages_api.hpp"

namespace app {

// `api` and `pool` must outlive the router's use. The POST body limit
// (mail::api::kMaxRequestBytes) is the route's: the HTTP layer answers 413 before reading
// more.
void register_api_routes(http::Router& router, mail::api::MessagesApi& api,
                         core::BlockingPool& pool);

// The contacts API (issue 11): POST /api/v1/contacts, POST /api/v1/contacts/revoke, GET
// /api/v1/contacts/{id}, through campaigns::ContactsApi, on the blocking pool.
void register_contact_routes(http::Router& router, campaigns::ContactsApi& api,
                             core::BlockingPool& pool);

// The HTTP response for an API outcome (status, headers, JSON body).
http::Response to_response(mail::api::Reply reply);

}  // namespace app
