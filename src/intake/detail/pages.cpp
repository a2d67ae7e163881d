// Trust: the values spliced into pages are ours (tokens, nonces, references); echoed input
// goes only through forms::render_form, which escapes it.
#include "intake/detail/pages.hpp"

#include <fmt/format.h>

#include "core/encoding.hpp"
#include "forms/render.hpp"
#include "forms/token.hpp"

namespace intake {

Page message_page(std::string_view title, std::string_view message, core::Rng& rng) {
  auto nonce = detail::random_token(kCspNonceBytes, rng);
  return Page{forms::render_message_page(title, message, nonce), detail::page_csp(nonce, "'none'")};
}

Page action_page(std::string_view title, std::string_view message, std::string_view action,
                 std::string_view button, core::Rng& rng) {
  auto nonce = detail::random_token(kCspNonceBytes, rng);
  return Page{forms::render_unsubscribe_page(title, message, action, button, nonce),
              detail::page_csp(nonce, "'none'")};
}

namespace detail {

std::string random_token(std::size_t bytes, core::Rng& rng) {
  std::vector<std::uint8_t> b(bytes);
  rng.fill(b);
  return core::base64url_encode(b);
}

std::string frame_ancestors(const forms::FormDeclaration& form) {
  if (form.frame_ancestors.empty()) return "'none'";
  std::string out;
  for (const auto& origin : form.frame_ancestors) {
    if (!out.empty()) out += ' ';
    out += origin;
  }
  return out;
}

std::string page_csp(std::string_view nonce, std::string_view ancestors) {
  return fmt::format(
      "default-src 'none'; style-src 'nonce-{}'; img-src 'self'; form-action 'self'; "
      "base-uri 'none'; frame-ancestors {}",
      nonce, ancestors);
}

namespace {

// Placeholders unique to this process, so no declaration text can contain them by chance.
// Drawn once, from the first caller's `rng`.
const std::string& placeholder(CachedPage::Piece::Slot slot, core::Rng& rng) {
  using Slot = CachedPage::Piece::Slot;
  static const std::string token = "sealpost" + random_token(24, rng) + "token";
  static const std::string nonce = "sealpost" + random_token(24, rng) + "nonce";
  static const std::string reference = "sealpost" + random_token(24, rng) + "reference";
  return slot == Slot::token ? token : slot == Slot::nonce ? nonce : reference;
}

CachedPage split_page(const std::string& page, core::Rng& rng) {
  using Slot = CachedPage::Piece::Slot;
  CachedPage cached;
  std::size_t pos = 0;
  for (;;) {
    std::size_t next = std::string::npos;
    Slot slot = Slot::none;
    for (Slot candidate : {Slot::token, Slot::nonce, Slot::reference}) {
      auto at = page.find(placeholder(candidate, rng), pos);
      if (at < next) {
        next = at;
        slot = candidate;
      }
    }
    if (next == std::string::npos) {
      cached.pieces.push_back({page.substr(pos), Slot::none});
      break;
    }
    cached.pieces.push_back({page.substr(pos, next - pos), slot});
    pos = next + placeholder(slot, rng).size();
  }
  for (const auto& piece : cached.pieces) cached.literal_bytes += piece.literal.size();
  return cached;
}

}  // namespace

std::string fill_page(const CachedPage& page, std::string_view token, std::string_view nonce,
                      std::string_view reference) {
  using Slot = CachedPage::Piece::Slot;
  std::string body;
  body.reserve(page.literal_bytes + 256);
  for (const auto& piece : page.pieces) {
    body += piece.literal;
    if (piece.slot == Slot::token) body += token;
    if (piece.slot == Slot::nonce) body += nonce;
    if (piece.slot == Slot::reference) body += reference;
  }
  return body;
}

void cache_pages(LoadedForm& form, core::Rng& rng) {
  using Slot = CachedPage::Piece::Slot;
  forms::RenderContext ctx;
  ctx.action = "/f/" + form.declaration.id;
  ctx.token = placeholder(Slot::token, rng);
  ctx.csp_nonce = placeholder(Slot::nonce, rng);
  form.blank_page = split_page(forms::render_form(form.declaration, ctx), rng);
  form.thanks_page =
      split_page(forms::render_thanks(form.declaration, placeholder(Slot::reference, rng),
                                      placeholder(Slot::nonce, rng)),
                 rng);
}

Page form_page(const core::SecretBytes& token_key, const LoadedForm& form, core::TimePoint now,
               core::Rng& rng, std::map<std::string, std::vector<std::string>> echo,
               std::vector<forms::FieldError> errors, bool copy_checked) {
  forms::TokenClaims claims;
  claims.form_id = form.declaration.id;
  claims.form_version = form.version;
  claims.issued_at = core::unix_seconds(now);
  rng.fill(claims.nonce);
  forms::RenderContext ctx;
  ctx.action = "/f/" + form.declaration.id;
  ctx.token = forms::issue_token(token_key, claims);
  ctx.csp_nonce = random_token(kCspNonceBytes, rng);
  if (echo.empty() && errors.empty() && !copy_checked) {
    return Page{fill_page(form.blank_page, ctx.token, ctx.csp_nonce, {}),
                page_csp(ctx.csp_nonce, frame_ancestors(form.declaration))};
  }
  ctx.echo = std::move(echo);
  ctx.errors = std::move(errors);
  ctx.copy_checked = copy_checked;
  std::string body = forms::render_form(form.declaration, ctx);
  // The echoed values are PHI: wipe them now that the page holds its escaped copy.
  for (auto& [name, values] : ctx.echo) {
    for (auto& v : values) core::secure_wipe(v.data(), v.size());
  }
  return Page{std::move(body), page_csp(ctx.csp_nonce, frame_ancestors(form.declaration))};
}

}  // namespace detail
}  // namespace intake
