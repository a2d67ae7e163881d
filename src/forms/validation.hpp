#pragma once
// Server-side validation of every field (F5), whatever the browser checked.
// Trust: untrusted network input (already decoded from urlencoded).

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "core/secret.hpp"
#include "forms/declaration.hpp"
#include "forms/urlencoded.hpp"

namespace forms {

// One validated, normalised answer (NFC, control characters removed). Values are PHI:
// the destructor wipes them.
struct Answer {
  std::string name;
  FieldType type = FieldType::text;
  // text/textarea/email/phone(E.164)/date(YYYY-MM-DD)/select/radio/signature name:
  // one value; checkbox: the chosen values in declaration order; number: its canonical
  // decimal text; consent: "true" when given.
  std::vector<std::string> values;
  std::string consent_version;  // consent only
  ~Answer();
  Answer() = default;
  Answer(Answer&&) noexcept = default;
  // Wipes the values it replaces before taking the other's.
  Answer& operator=(Answer&& other) noexcept;
};

struct ValidatedSubmission {
  std::string form_id;
  int form_version = 0;
  std::vector<Answer> answers;  // in declaration order; optional fields left empty omitted
};

struct FieldError {
  std::string field;    // field name, or "" for the form as a whole
  std::string message;  // plain text, safe to show; never contains the submitted value
};

struct ValidationOutcome {
  bool ok = false;
  ValidatedSubmission submission;  // when ok
  std::vector<FieldError> errors;  // when not ok, in declaration order
};

// `fields` must already have the reserved inputs (token, honeypot) removed. Unknown names
// and repeats of single-valued fields are errors. `today` is "YYYY-MM-DD" (UTC) for
// "today" bounds.
ValidationOutcome validate(const FormDeclaration& form, int form_version, const FieldPairs& fields,
                           std::string_view today);

// Attested facts the server signs inside the ciphertext (S8).
struct Attestation {
  std::string reference;
  std::int64_t received_at = 0;  // unix seconds
  std::int64_t token_issued_at = 0;
  bool honeypot_empty = true;
};

// Canonical JSON (sorted keys, no insignificant whitespace, UTF-8), the plaintext that is
// signed and encrypted. Returned as SecretBytes so it is wiped after encryption.
core::SecretBytes canonical_json(const ValidatedSubmission& submission,
                                 const Attestation& attestation);

}  // namespace forms
