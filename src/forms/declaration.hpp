#pragma once
// A form declaration (F4): one TOML document per form, as ../shared/examples/intake.toml.
// Trust: administrator-supplied file; parsed with limits, every error reported with its
// line and column and nothing stored.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace forms {

enum class FieldType {
  text,
  textarea,
  email,
  phone,
  number,
  date,
  select,
  radio,
  checkbox,
  consent,
  signature
};
std::string_view to_string(FieldType type);

struct Choice {
  std::string value;
  std::string label;
};

struct Field {
  std::string name;  // [a-z][a-z0-9_]{0,63}, unique in the form
  FieldType type = FieldType::text;
  std::string label;
  std::string help;  // optional help text shown under the label
  bool required = false;
  std::optional<std::size_t> max_length;  // text, textarea, email, signature
  std::optional<std::size_t> min_length;
  std::optional<std::string> pattern;  // text: ECMAScript regex, whole-value match
  // number: bounds and integer-only.
  std::optional<double> min_number;
  std::optional<double> max_number;
  bool integer = false;
  // date: "YYYY-MM-DD" or "today" (resolved at validation time).
  std::optional<std::string> min_date;
  std::optional<std::string> max_date;
  std::string region;           // phone: default region, e.g. "US"
  std::vector<Choice> choices;  // select, radio, checkbox
  std::string consent_text;     // consent: the legal text shown and recorded
  std::string consent_version;  // consent: its version, recorded with the answer
};

enum class NotifyMode { link, pgp, smime };

struct FormDeclaration {
  std::string id;  // [a-z0-9][a-z0-9-]{0,62}
  std::string title;
  std::string description;
  std::vector<std::string> recipients;  // fingerprints as written; checked by the caller
  std::size_t max_body_bytes = 65536;   // 1 KiB .. 10 MiB
  int retention_days = 2190;            // 1 .. 36500
  std::string success_message;
  // Origins allowed to embed the form in an iframe (F12); empty = no embedding.
  std::vector<std::string> frame_ancestors;
  // S5: who gets a notice of each new submission (the form, its reference and a link to
  // the portal; never a field value). Addresses as mail::Address writes them.
  std::vector<std::string> notify;
  // What a notice carries (S5): `link` (the default) nothing of the submission; `pgp` also
  // the stored submission itself, the signed and encrypted OpenPGP message exactly as
  // stored, attached. Each notify address must then be named by a user id of one of the
  // form's recipient keys (checked by `form add`), or the attachment would not open.
  // `smime`: the submission's answers as text, in an S/MIME message (RFC 8551) encrypted to
  // each notify address's imported certificate, composed in memory at intake like the
  // submitter's copy (F14); `form add` checks each address has a usable certificate.
  NotifyMode notify_mode = NotifyMode::link;
  // F14: the name of an `email` field of this form; when set, the form offers the submitter
  // a copy of what they sent, mailed (encrypted or through the secure-message portal) to the
  // address typed there. Empty: no copy offered.
  std::string copy_to;
  std::vector<Field> fields;
};

inline constexpr std::size_t kMaxNotify = 20;

// Declarations are small; 256 KiB bounds the parser's memory on a hostile file.
inline constexpr std::size_t kMaxDeclarationBytes = 256 * 1024;

// Parses and checks a declaration. Every error's public text is one line, starting with
// "line L, column C: " when it points into the document.
core::Result<FormDeclaration> parse_declaration(std::string_view toml_text);

}  // namespace forms
