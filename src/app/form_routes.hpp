#pragma once
// The public form routes on HTTP: GET /f/{form}, POST /f/{form}, GET /f/{form}/thanks/{ref}.
// The life of a submission is in src/intake/; this file turns its outcomes into responses,
// and writes the file-drop copy (S4) of a stored submission.

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "audit/auditor.hpp"
#include "core/blocking_pool.hpp"
#include "core/clock.hpp"
#include "core/rng.hpp"
#include "core/secret.hpp"
#include "forms/submitter_copy.hpp"
#include "http/router.hpp"
#include "intake/intake.hpp"
#include "store/store.hpp"

namespace app {

// How each post ended, for metrics (O3); called once per post, before the answer is sent.
using PostOutcomeObserver = std::function<void(intake::PostOutcome::Kind)>;
// A submission stored durably (form id, reference): S5's notices (with `notify_text`, the
// answers, on a form with notify_mode = "smime"), and (F14) the copy its submitter asked
// for, when `copy` is set. Both in memory only; the observer wipes them once queued. Called
// before the answer is sent; it must not block (post to the pool). Returns whether the copy
// was taken for sending (false when there is none, or it was refused: the thank-you page
// then says it could not be sent).
using StoredObserver = std::function<bool(const std::string& form, const std::string& reference,
                                          const std::shared_ptr<forms::SubmitterCopy>& copy,
                                          const std::shared_ptr<core::SecretBytes>& notify_text)>;

// `intake`, `pool` and `rng` must outlive the router's use. `file_drop_dir` empty: no drop.
void register_form_routes(http::Router& router, intake::Intake& intake, core::BlockingPool& pool,
                          core::Rng& rng, std::string file_drop_dir,
                          PostOutcomeObserver on_post_outcome = {}, StoredObserver on_stored = {});

// One-click unsubscribe (campaigns/unsubscribe.hpp, RFC 8058): GET /u/{token} shows a page
// with one button; POST /u/{token} (the button, or a mail client's List-Unsubscribe=One-Click)
// revokes the contact's authorisation for the token's purpose. A token that does not verify
// is the 404 page. Everything passed must outlive the router's use.
void register_unsubscribe_routes(http::Router& router, store::Store& store, audit::Auditor& auditor,
                                 const core::SecretBytes& contacts_key, const core::Clock& clock,
                                 core::BlockingPool& pool, core::Rng& rng);

// The page for an error status (also those the HTTP layer produces itself: 404, 413, ...).
http::Response status_page(unsigned status, std::string_view request_id, core::Rng& rng);

}  // namespace app
