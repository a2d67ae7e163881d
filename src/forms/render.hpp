#pragma once
// HTML for the public form pages. Every value goes through mustache's escaping; no
// submitted value is ever emitted unescaped (F6).

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "forms/declaration.hpp"
#include "forms/validation.hpp"

namespace forms {

// The hidden input names the form carries besides its declared fields. Declared names
// match [a-z]..., so these cannot collide.
inline constexpr std::string_view kTokenInput = "_token";
inline constexpr std::string_view kHoneypotInput = "_website";
// F14: the submitter's "e-mail me a copy" checkbox, on forms with `copy_to` only; a checked
// box sends kCopyValue.
inline constexpr std::string_view kCopyInput = "_copy";
inline constexpr std::string_view kCopyValue = "1";

struct RenderContext {
  std::string action;     // e.g. "/f/intake"
  std::string token;      // fresh form token
  std::string csp_nonce;  // for the one inline <style>
  // What the user typed, echoed back after an error (raw, escaped by the template).
  std::map<std::string, std::vector<std::string>> echo;
  std::vector<FieldError> errors;  // field "" = a message for the whole form
  bool copy_checked = false;       // echo of the kCopyInput box
};

// What the thank-you page says about the copy the submitter asked for (F14).
enum class CopyNote { none, on_its_way, not_sent };

std::string render_form(const FormDeclaration& form, const RenderContext& context);
std::string render_thanks(const FormDeclaration& form, std::string_view reference,
                          std::string_view csp_nonce, CopyNote copy = CopyNote::none);
// A plain page for errors (bad token, 404, 413, ...): title and one sentence.
std::string render_message_page(std::string_view title, std::string_view message,
                                std::string_view csp_nonce);
// The unsubscribe page (campaigns, RFC 8058): a heading, a message and, when `action` is not
// empty, one button that POSTs List-Unsubscribe=One-Click to `action` (our own path).
std::string render_unsubscribe_page(std::string_view title, std::string_view message,
                                    std::string_view action, std::string_view button,
                                    std::string_view csp_nonce);

}  // namespace forms
