// Trust: untrusted network input (the form id and reference in a URL); both are looked up,
// never echoed into a page unchecked.
#include "intake/intake.hpp"

#include <spdlog/spdlog.h>

#include "core/log.hpp"
#include "forms/reference.hpp"
#include "intake/detail/pages.hpp"
#include "intake/detail/shared.hpp"

namespace intake {

Intake::Intake(Limits limits, bool file_drop, store::Store& store, core::BlockingPool& pool,
               const core::Clock& clock, core::Rng& rng, core::SecretBytes token_key,
               std::shared_ptr<PostLimits> post_limits)
    : shared_(std::make_shared<Shared>(limits, file_drop, store, pool, clock, rng,
                                       std::move(token_key), std::move(post_limits))) {}

Intake::~Intake() = default;

void Intake::set_catalog(std::shared_ptr<const Catalog> catalog) {
  std::lock_guard lock(shared_->catalog_mutex);
  shared_->catalog = std::move(catalog);
}

std::shared_ptr<const Catalog> Intake::catalog() const { return shared_->snapshot(); }

std::size_t Intake::body_limit(std::string_view form_id) const {
  auto catalog = shared_->snapshot();
  if (catalog) {
    if (const auto* form = find_form(*catalog, form_id)) return form->declaration.max_body_bytes;
  }
  return kUnknownFormBodyBytes;  // unknown form: it will get a 404; read no more than that
}

FormOutcome Intake::form(std::string_view form_id) {
  auto catalog = shared_->snapshot();
  const LoadedForm* form = catalog ? find_form(*catalog, form_id) : nullptr;
  if (form == nullptr) return FormOutcome{.kind = FormOutcome::Kind::unknown_form};
  if (!form->unavailable_reason.empty()) {
    return FormOutcome{
        .kind = FormOutcome::Kind::form_unavailable,
        .page = message_page("Temporarily unavailable",
                             "This form cannot take submissions at the moment.", shared_->rng)};
  }
  return FormOutcome{.kind = FormOutcome::Kind::ok,
                     .page = detail::form_page(shared_->token_key, *form, shared_->clock.now(),
                                               shared_->rng, {}, {})};
}

void Intake::thanks(std::string form_id, std::string reference, std::string request_id,
                    ThanksDone done, forms::CopyNote copy) {
  auto catalog = shared_->snapshot();
  const LoadedForm* form = catalog ? find_form(*catalog, form_id) : nullptr;
  if (form == nullptr || !forms::is_reference(reference)) {
    return done(ThanksOutcome{.kind = ThanksOutcome::Kind::not_found});
  }
  auto shared = shared_;
  bool queued =
      shared_->pool.post([shared, catalog, form, form_id, reference, request_id, done, copy] {
        auto found = shared->store.submissions().find_submission_blocking(form_id, reference);
        if (!found) {
          spdlog::error("event=store_read_failed request_id={} detail={}", request_id,
                        core::log_safe(found.error().detail()));
          return done(
              ThanksOutcome{.kind = ThanksOutcome::Kind::failed, .failure = found.error().kind()});
        }
        if (!found->has_value()) return done(ThanksOutcome{.kind = ThanksOutcome::Kind::not_found});
        auto nonce = detail::random_token(kCspNonceBytes, shared->rng);
        // A note about the copy (F14) is rendered afresh; the plain page comes from the cache.
        // `reference` was checked by is_reference above.
        std::string body = copy == forms::CopyNote::none
                               ? detail::fill_page(form->thanks_page, {}, nonce, reference)
                               : forms::render_thanks(form->declaration, reference, nonce, copy);
        done(ThanksOutcome{
            .kind = ThanksOutcome::Kind::ok,
            .page = Page{std::move(body),
                         detail::page_csp(nonce, detail::frame_ancestors(form->declaration))}});
      });
  if (!queued) done(ThanksOutcome{.kind = ThanksOutcome::Kind::overloaded});
}

}  // namespace intake
