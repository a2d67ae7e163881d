#pragma once
// The staff portal on HTTP: its API routes (run on the blocking pool through
// portal::Portal::handle_blocking), its pages and static files (embedded, no session).
// Turns portal::Reply outcomes into responses; the portal's logic is in src/portal/.

#include "core/blocking_pool.hpp"
#include "core/clock.hpp"
#include "http/router.hpp"
#include "portal/portal.hpp"
#include "store/shared_budget.hpp"

namespace app {

// Credential checks (sign-in, enrolment links) are rate limited per client address: by this
// node's memory on the event loop first, then, with `shared_checks` (several nodes on one
// PostgreSQL), by the budget all nodes share, on the blocking pool before the check runs.
// `portal`, `pool`, `clock` and `shared_checks` must outlive the router's use.
void register_portal_routes(http::Router& router, portal::Portal& portal, core::BlockingPool& pool,
                            const core::Clock& clock, store::SharedBudget* shared_checks = nullptr);

// The HTTP response for a portal outcome (status, headers, body).
http::Response to_response(portal::Reply reply);

}  // namespace app
