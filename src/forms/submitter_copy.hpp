#pragma once
// F14: the copy of a submission that its submitter asks for ("E-mail me a copy of what I
// sent"): the address typed in the form's `copy_to` field and the text of the mail. Pure:
// values in, values out; app/ queues it through the Outbox (encrypted, or the
// secure-message portal).
// Trust: the answers are validated (forms::validate). The text and the address are PHI:
// they live in memory only, wiped when the copy is destroyed.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/secret.hpp"
#include "forms/declaration.hpp"
#include "forms/validation.hpp"

namespace forms {

struct SubmitterCopy {
  std::string address;     // the answer to the form's copy_to field, as validated
  std::string subject;     // copy_subject(): the reference and the form's title, no PHI
  core::SecretBytes text;  // copy_text(): the mail's text body (PHI)

  SubmitterCopy() = default;
  SubmitterCopy(const SubmitterCopy&) = delete;
  SubmitterCopy& operator=(const SubmitterCopy&) = delete;
  ~SubmitterCopy() { core::secure_wipe(address.data(), address.size()); }
};

// The answer to `form.copy_to`; nullopt when the form has no copy_to or the field was left
// empty.
std::optional<std::string> copy_address(const FormDeclaration& form,
                                        const ValidatedSubmission& submission);

// "Your submission <reference> to <form title>".
std::string copy_subject(const FormDeclaration& form, std::string_view reference);

// The text body: the reference, the time received (UTC), then each field's label and the
// answer as validated, in the form's order (choices by their labels; fields left empty say
// so). Only declared fields appear: never the token, the honeypot or the copy box.
core::SecretBytes copy_text(const FormDeclaration& form, const ValidatedSubmission& submission,
                            std::string_view reference, std::int64_t received_at);

// The reference, the time received and the answers, as copy_text() lists them, with no
// words around them: also the body of notify_mode = "smime" notices (S5).
core::SecretBytes answers_text(const FormDeclaration& form, const ValidatedSubmission& submission,
                               std::string_view reference, std::int64_t received_at);

}  // namespace forms
