#pragma once
// Rendering the public pages of a form: the cached blank form and thank-you page with their
// per-request values spliced in, the form re-rendered with errors, and message pages. Private
// to src/intake/.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/rng.hpp"
#include "core/secret.hpp"
#include "forms/validation.hpp"
#include "intake/catalog.hpp"
#include "intake/intake.hpp"

namespace intake::detail {

// `bytes` random bytes, base64url.
std::string random_token(std::size_t bytes, core::Rng& rng);

std::string frame_ancestors(const forms::FormDeclaration& form);
std::string page_csp(std::string_view nonce, std::string_view ancestors);

// Renders the blank form and the thank-you page of `form` with placeholders.
void cache_pages(LoadedForm& form, core::Rng& rng);

std::string fill_page(const CachedPage& page, std::string_view token, std::string_view nonce,
                      std::string_view reference);

// The form with a fresh token and CSP nonce: the cached blank page, or (with `echo` or
// `errors`) rendered afresh with the values escaped, which are wiped afterwards (PHI).
// `copy_checked`: the F14 copy box was ticked (echoed like a field).
Page form_page(const core::SecretBytes& token_key, const LoadedForm& form, core::TimePoint now,
               core::Rng& rng, std::map<std::string, std::vector<std::string>> echo,
               std::vector<forms::FieldError> errors, bool copy_checked = false);

}  // namespace intake::detail
