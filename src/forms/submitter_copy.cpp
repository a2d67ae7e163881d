// Trust: validated answers (forms::validate) and the administrator's declaration; the text
// built here is PHI and only ever held in SecretBytes.
#include "forms/submitter_copy.hpp"

#include <fmt/format.h>

#include "forms/detail/syntax.hpp"

namespace forms {

namespace {

const Answer* find_answer(const ValidatedSubmission& submission, const std::string& name) {
  for (const auto& a : submission.answers) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

std::string_view choice_label(const Field& field, const std::string& value) {
  for (const auto& c : field.choices) {
    if (c.value == value) return c.label;
  }
  return value;
}

// Appends `label: value`, or the label on its own line and the value indented below it when
// the value has several lines (a textarea).
void append_answer(core::SecretBytes& out, const std::string& label, std::string_view value) {
  out.append(label);
  out.append(":");
  if (value.find('\n') == std::string_view::npos) {
    out.append(" ");
    out.append(value);
    out.append("\n");
    return;
  }
  out.append("\n");
  std::size_t start = 0;
  while (start <= value.size()) {
    const auto end = value.find('\n', start);
    const auto line = value.substr(start, end == std::string_view::npos ? value.npos : end - start);
    out.append("  ");
    out.append(line);
    out.append("\n");
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
}

}  // namespace

std::optional<std::string> copy_address(const FormDeclaration& form,
                                        const ValidatedSubmission& submission) {
  if (form.copy_to.empty()) return std::nullopt;
  const Answer* answer = find_answer(submission, form.copy_to);
  if (answer == nullptr || answer->values.empty() || answer->values.front().empty()) {
    return std::nullopt;
  }
  return answer->values.front();
}

std::string copy_subject(const FormDeclaration& form, std::string_view reference) {
  return fmt::format("Your submission {} to {}", reference, form.title);
}

core::SecretBytes copy_text(const FormDeclaration& form, const ValidatedSubmission& submission,
                            std::string_view reference, std::int64_t received_at) {
  core::SecretBytes out(fmt::format(
      "This is the copy you asked for of what you sent with the form \"{}\".\n\n", form.title));
  core::SecretBytes answers = answers_text(form, submission, reference, received_at);
  out.append(answers.as_string_view());
  out.append(
      "\nKeep this message private: it holds what you told us. If you did not send this form, "
      "please tell us, quoting the reference.\n");
  return out;
}

core::SecretBytes answers_text(const FormDeclaration& form, const ValidatedSubmission& submission,
                               std::string_view reference, std::int64_t received_at) {
  const std::string when = detail::iso8601_utc(received_at);
  core::SecretBytes out(fmt::format("Reference: {}\nReceived: {}\n\n", reference, when));
  for (const Field& field : form.fields) {
    const Answer* answer = find_answer(submission, field.name);
    const std::string& label = field.label.empty() ? field.name : field.label;
    if (answer == nullptr || answer->values.empty()) {
      append_answer(out, label, "(left empty)");
      continue;
    }
    switch (field.type) {
      case FieldType::select:
      case FieldType::radio:
      case FieldType::checkbox: {
        core::SecretBytes joined;
        for (std::size_t i = 0; i < answer->values.size(); ++i) {
          if (i > 0) joined.append(", ");
          joined.append(choice_label(field, answer->values[i]));
        }
        append_answer(out, label, joined.as_string_view());
        break;
      }
      case FieldType::consent:
        append_answer(out, label, fmt::format("Yes (version {})", answer->consent_version));
        break;
      case FieldType::signature: {
        core::SecretBytes signed_text(answer->values.front());
        signed_text.append(" (signed at ");
        signed_text.append(when);
        signed_text.append(")");
        append_answer(out, label, signed_text.as_string_view());
        break;
      }
      default:
        append_answer(out, label, answer->values.front());
        break;
    }
  }
  return out;
}

}  // namespace forms
