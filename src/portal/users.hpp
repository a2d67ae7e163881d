#pragma once
// What the CLI shares with the portal's user administration: enrolment links and the
// recipients a form gets from its grants.
// Trust: arguments come from the administrator or from our own store.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/rng.hpp"
#include "store/store.hpp"

namespace portal {

// A new enrolment link for `user_id` (stores the token's hash). Returns the URL.
core::Result<std::string> issue_enrolment_link_blocking(store::Store& store, core::Rng& rng,
                                                        std::int64_t user_id,
                                                        std::chrono::seconds lifetime,
                                                        const std::string& origin,
                                                        core::TimePoint now);

// The recipients a new version of `form_id` gets from its grants: the key fingerprints of
// the active users granted the form.
core::Result<std::vector<std::string>> granted_recipients_blocking(store::Store& store,
                                                                   const std::string& form_id);

}  // namespace portal
