#pragma once
// The life of a submission (docs/ARCHITECTURE.md): the form page with its token, the checks
// of a post (rate limits, content type, body, reserved inputs, token, validation), sign and
// encrypt on the blocking pool, the durable commit in the store, and the thank-you page.
// Each request ends in a typed outcome; app/ turns outcomes into HTTP responses.
// Trust: untrusted network input (form posts); every value is parsed and validated by
// forms/ before anything else sees it, and only ciphertext leaves for the store.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/blocking_pool.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/rng.hpp"
#include "core/secret.hpp"
#include "forms/render.hpp"
#include "forms/submitter_copy.hpp"
#include "intake/catalog.hpp"
#include "intake/limits.hpp"
#include "store/store.hpp"

namespace intake {

class PostLimits;

// An HTML page and the Content-Security-Policy it must be served with.
struct Page {
  std::string body;
  std::string csp;
};

// A page with a title and one message, in the forms' style, with its own CSP nonce.
Page message_page(std::string_view title, std::string_view message, core::Rng& rng);
// The same with one button that POSTs to `action` (forms::render_unsubscribe_page); no button
// when `action` is empty.
Page action_page(std::string_view title, std::string_view message, std::string_view action,
                 std::string_view button, core::Rng& rng);

// GET /f/{form}.
struct FormOutcome {
  enum class Kind { ok, unknown_form, form_unavailable } kind = Kind::ok;
  Page page;  // ok, form_unavailable
};

// GET /f/{form}/thanks/{ref}.
struct ThanksOutcome {
  enum class Kind { ok, not_found, failed, overloaded } kind = Kind::ok;
  core::ErrorKind failure = core::ErrorKind::internal;  // failed: the store read's
  Page page;                                            // ok
};

// A form post as it arrived.
struct Post {
  std::string form_id;
  std::string_view content_type;  // the Content-Type header
  std::string& body;              // wiped before post() returns
  std::string remote_address;
  std::string request_id;
};

// How a post ended. Exactly one `kind`; nothing is stored unless it is `stored`.
struct PostOutcome {
  enum class Kind {
    stored,            // durable: `location` is the thank-you page
    unknown_form,      // no such enabled form
    form_unavailable,  // a recipient key cannot encrypt now
    rate_limited,      // per address or per form
    unsupported_type,  // not application/x-www-form-urlencoded
    malformed,         // the body, the reserved inputs or the honeypot
    not_verified,      // a bad token: `page` says so
    resubmit,          // expired token, older form version or field errors: `page` (422)
    replay,            // the token was used already
    not_encrypted,     // sign+encrypt failed
    not_stored,        // the commit failed: `failure`
    overloaded,        // the blocking pool or the store's queue is full
  } kind = Kind::stored;
  core::ErrorKind failure = core::ErrorKind::internal;
  Page page;
  std::string location;
  // stored, with a file drop configured: the ciphertext and its reference, for the copy.
  std::shared_ptr<const std::vector<std::uint8_t>> drop_copy;
  std::string reference;
  // stored, F14: the submitter ticked "e-mail me a copy" (only offered on forms with
  // copy_to). `submitter_copy` is what to send, null when the e-mail field was left empty.
  // In memory only: app/ queues it (or refuses it) and lets go; its destructor wipes it.
  bool copy_requested = false;
  std::shared_ptr<forms::SubmitterCopy> submitter_copy;
  // stored, on a form with notify_mode = "smime" (S5): the answers as text
  // (forms::answers_text), for app/ to seal to the notify addresses' certificates. In memory
  // only, like submitter_copy.
  std::shared_ptr<core::SecretBytes> notify_text;
};

class Intake {
 public:
  using PostDone = std::function<void(PostOutcome)>;
  using ThanksDone = std::function<void(ThanksOutcome)>;

  // `file_drop`: whether stored outcomes carry a copy of the ciphertext (S4). `post_limits`:
  // the rate limits of posts (post_limits.hpp; app/ picks them by the store's engine);
  // nullptr: MemoryPostLimits with `limits`' rate limits.
  Intake(Limits limits, bool file_drop, store::Store& store, core::BlockingPool& pool,
         const core::Clock& clock, core::Rng& rng, core::SecretBytes token_key,
         std::shared_ptr<PostLimits> post_limits = nullptr);
  ~Intake();
  Intake(const Intake&) = delete;
  Intake& operator=(const Intake&) = delete;

  void set_catalog(std::shared_ptr<const Catalog> catalog);
  std::shared_ptr<const Catalog> catalog() const;

  // The largest body a post to `form_id` may have (read before the body is).
  std::size_t body_limit(std::string_view form_id) const;

  FormOutcome form(std::string_view form_id);
  // Answers `done` exactly once, on a blocking-pool thread or (overloaded, not found) at once.
  // `copy`: what the page says about the submitter's copy (F14).
  void thanks(std::string form_id, std::string reference, std::string request_id, ThanksDone done,
              forms::CopyNote copy = forms::CopyNote::none);
  // Takes the post from the rate limits, runs the checks (on the caller's thread, or on a
  // blocking-pool thread when the limits are shared ones), then sign+encrypt on the
  // blocking pool and the commit on the store's writer; `done` is called exactly once, only
  // after the commit is durable for `stored`.
  void post(Post post, PostDone done);

  struct Shared;

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace intake
