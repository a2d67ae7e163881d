// HTML for the public form pages (F4, F5, F6, F9).
// Trust: the declaration is administrator-supplied; echoed values and error messages may
// carry anything a client sent. Both reach the page only through mustache's escaped
// {{ }} tags (never {{{ }}} or {{& }}), which escape & < > " ' in text and quoted
// attributes alike. The templates and the CSS are ours, embedded at build time.

#include "forms/render.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <kainjow/mustache.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "forms/assets.hpp"

namespace forms {
namespace {

using kainjow::mustache::data;
using kainjow::mustache::mustache;
using kainjow::mustache::object;

constexpr std::string_view kCssAsset = "static/form.css";
constexpr std::string_view kDefaultSuccess = "Thank you. Your information was received securely.";
constexpr std::string_view kCopyLabel =
    "E-mail me a copy of what I sent (through our secure-message service)";
constexpr std::string_view kCopyOnItsWay =
    "A copy is on its way to the e-mail address you gave. It comes as a message with a link to "
    "read it securely.";
constexpr std::string_view kCopyNotSent =
    "We could not send a copy this time. Your submission was received all the same; please "
    "write down the reference number below.";
constexpr std::string_view kSignatureHelp =
    "Typing your full name here is your electronic signature. We record the date and time "
    "you send this form with it.";

// A missing or broken template is a build defect, not a runtime condition: fail loudly.
mustache parse_template(std::string_view name) {
  const auto text = asset(name);
  if (!text) throw std::logic_error("render: missing embedded asset " + std::string(name));
  mustache parsed{std::string(*text)};
  if (!parsed.is_valid()) {
    throw std::logic_error("render: " + std::string(name) + ": " + parsed.error_message());
  }
  return parsed;
}

// The CSS goes into the page through an escaped tag, so it must be text that escaping leaves
// unchanged; otherwise a `>` selector would silently turn into `&gt;` inside <style>.
std::string load_css() {
  const auto text = asset(kCssAsset);
  if (!text) throw std::logic_error("render: missing embedded asset static/form.css");
  if (text->find_first_of("<>&\"'") != std::string_view::npos) {
    throw std::logic_error("render: static/form.css contains a character HTML escaping changes");
  }
  return std::string(*text);
}

struct Templates {
  mustache head;
  mustache foot;
  mustache form;
  mustache thanks;
  mustache message;
  mustache unsubscribe;
  std::string css;
};

// kainjow's render() is not const, so each thread parses its own copy once and reuses it
// for every request it serves: no parsing per request and no shared mutable state.
Templates& templates() {
  thread_local Templates t{parse_template("templates/page_head.mustache"),
                           parse_template("templates/page_foot.mustache"),
                           parse_template("templates/form.mustache"),
                           parse_template("templates/thanks.mustache"),
                           parse_template("templates/message.mustache"),
                           parse_template("templates/unsubscribe.mustache"),
                           load_css()};
  return t;
}

void render_into(mustache& tmpl, const data& values, std::string& out) {
  tmpl.render(values, [&out](const std::string& piece) { out += piece; });
  if (!tmpl.is_valid()) throw std::logic_error("render: " + tmpl.error_message());
}

std::string render_page(std::string_view title, std::string_view nonce, mustache& body,
                        const data& body_values) {
  Templates& t = templates();
  data head{object{{"title", std::string(title)}, {"nonce", std::string(nonce)}, {"css", t.css}}};
  std::string out;
  out.reserve(t.css.size() + 8192);
  render_into(t.head, head, out);
  render_into(body, body_values, out);
  render_into(t.foot, data{object{}}, out);
  return out;
}

// Shortest text that reads back as the same double; HTML accepts this syntax for min/max.
std::string number_text(double value) {
  std::array<char, 32> buffer{};
  const auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  if (ec != std::errc{}) return {};
  return std::string(buffer.data(), end);
}

// Only fixed dates become attributes; "today" would need the caller's clock, and the server
// checks the bound anyway.
bool is_fixed_date(const std::string& text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i == 4 || i == 7) continue;
    if (text[i] < '0' || text[i] > '9') return false;
  }
  return true;
}

std::string field_id(std::string_view name) { return "field-" + std::string(name); }

// kainjow deep-copies a `list` or `object` when it is wrapped in a `data`, and its vector
// copies rather than moves when it grows (the move constructor is not noexcept). So lists
// are built by move in a reserved std::vector and wrapped once, and objects in place.
class ListBuilder {
 public:
  explicit ListBuilder(std::size_t size) { items_.reserve(size); }
  data& add() { return items_.emplace_back(data::type::object); }
  data build() const { return data(items_); }

 private:
  kainjow::mustache::list items_;
};

// A field object carries only its true flags and non-empty texts: a section over a missing
// key renders nothing, and this keeps the per-request copies small. That is safe only
// because no key of the field part of form.mustache is also a key of the page object (a
// missing key would be looked up there): see render_form.
void set_flag(data& o, const char* key, bool value) {
  if (value) o[key] = data(true);
}

void set_optional(data& o, const char* key, const std::string& value) {
  if (value.empty()) return;
  o[std::string("has_") + key] = data(true);
  o[key] = value;
}

struct InputAttributes {
  std::string input_type;
  std::string autocomplete;
  std::string minlength;
  std::string maxlength;
  std::string pattern;
  std::string min;
  std::string max;
  std::string step;
};

InputAttributes input_attributes(const Field& field) {
  InputAttributes a;
  const auto lengths = [&] {
    if (field.min_length) a.minlength = std::to_string(*field.min_length);
    if (field.max_length) a.maxlength = std::to_string(*field.max_length);
  };
  switch (field.type) {
    case FieldType::text:
      a.input_type = "text";
      lengths();
      if (field.pattern) a.pattern = *field.pattern;
      break;
    case FieldType::email:
      a.input_type = "email";
      a.autocomplete = "email";
      lengths();
      break;
    case FieldType::phone:
      a.input_type = "tel";
      a.autocomplete = "tel";
      break;
    case FieldType::number:
      a.input_type = "number";
      if (field.min_number && std::isfinite(*field.min_number)) {
        a.min = number_text(*field.min_number);
      }
      if (field.max_number && std::isfinite(*field.max_number)) {
        a.max = number_text(*field.max_number);
      }
      // Without step="any" a browser rejects every non-integer (the default step is 1).
      a.step = field.integer ? "1" : "any";
      break;
    case FieldType::date:
      a.input_type = "date";
      if (field.min_date && is_fixed_date(*field.min_date)) a.min = *field.min_date;
      if (field.max_date && is_fixed_date(*field.max_date)) a.max = *field.max_date;
      break;
    case FieldType::signature:
      a.input_type = "text";
      a.autocomplete = "name";
      lengths();
      break;
    case FieldType::textarea:
      lengths();
      break;
    case FieldType::radio:
      a.input_type = "radio";
      break;
    case FieldType::checkbox:
      a.input_type = "checkbox";
      break;
    case FieldType::select:
    case FieldType::consent:
      break;
  }
  return a;
}

const std::vector<std::string>* echoed(const RenderContext& context, const std::string& name) {
  const auto it = context.echo.find(name);
  return it == context.echo.end() ? nullptr : &it->second;
}

bool contains(const std::vector<std::string>* values, const std::string& value) {
  if (values == nullptr) return false;
  for (const auto& v : *values) {
    if (v == value) return true;
  }
  return false;
}

// Every key the field part of form.mustache reads is set on every field, so a lookup never
// falls through to an outer context and picks up an unrelated value.
data field_data(const Field& field, const RenderContext& context) {
  const std::string id = field_id(field.name);
  const bool is_group = field.type == FieldType::radio || field.type == FieldType::checkbox;
  const bool is_consent = field.type == FieldType::consent;
  const bool is_select = field.type == FieldType::select;
  const bool is_textarea = field.type == FieldType::textarea;
  const bool is_input = !is_group && !is_consent && !is_select && !is_textarea;
  const auto* echo = echoed(context, field.name);

  data o{data::type::object};
  o["name"] = field.name;
  o["id"] = id;
  o["label"] = field.label;
  set_flag(o, "required", field.required);
  // `required` on each box of a checkbox group would demand every box; the server checks
  // "at least one" instead, and the legend still says (required).
  set_flag(o, "required_attr", field.required && field.type != FieldType::checkbox);
  set_flag(o, "is_group", is_group);
  set_flag(o, "is_labelled_first", !is_group && !is_consent);
  set_flag(o, "is_consent", is_consent);
  set_flag(o, "is_select", is_select);
  set_flag(o, "is_textarea", is_textarea);
  set_flag(o, "is_input", is_input);

  std::string help = field.help;
  if (field.type == FieldType::signature) {
    help = help.empty() ? std::string(kSignatureHelp) : help + " " + std::string(kSignatureHelp);
  }
  const std::string consent_id = id + "-text";
  const std::string help_id = id + "-help";
  const std::string error_id = id + "-error";
  std::string describedby;
  const auto add_id = [&describedby](const std::string& part) {
    if (!describedby.empty()) describedby += ' ';
    describedby += part;
  };
  if (is_consent) {
    o["consent_id"] = consent_id;
    o["consent_text"] = field.consent_text;
    add_id(consent_id);
  }
  if (!help.empty()) {
    o["help_id"] = help_id;
    set_optional(o, "help", help);
    add_id(help_id);
  }

  std::size_t error_count = 0;
  for (const auto& e : context.errors) error_count += e.field == field.name ? 1 : 0;
  if (error_count > 0) {
    ListBuilder errors(error_count);
    for (const auto& e : context.errors) {
      if (e.field == field.name) errors.add()["message"] = e.message;
    }
    o["has_error"] = data(true);
    o["error_id"] = error_id;
    o["errors"] = errors.build();
    add_id(error_id);
  }
  set_optional(o, "describedby", describedby);

  const InputAttributes a = input_attributes(field);
  o["input_type"] = a.input_type;
  set_optional(o, "autocomplete", a.autocomplete);
  set_optional(o, "minlength", a.minlength);
  set_optional(o, "maxlength", a.maxlength);
  set_optional(o, "pattern", a.pattern);
  set_optional(o, "min", a.min);
  set_optional(o, "max", a.max);
  set_optional(o, "step", a.step);

  if (echo != nullptr && !echo->empty()) o["value"] = echo->front();
  if (is_consent && echo != nullptr) {
    bool given = false;
    for (const auto& v : *echo) given = given || !v.empty();
    set_flag(o, "checked", given);
  }

  if (!field.choices.empty()) {
    ListBuilder choices(field.choices.size());
    bool has_selection = false;
    for (std::size_t i = 0; i < field.choices.size(); ++i) {
      const Choice& choice = field.choices[i];
      const bool checked = contains(echo, choice.value);
      has_selection = has_selection || checked;
      // Every key, always: a choice sits inside its field, and a missing "label", "value"
      // or "checked" would be taken from the field.
      data& c = choices.add();
      c["value"] = choice.value;
      c["label"] = choice.label;
      // The first box carries the field's own id, so the error summary's link lands on it.
      c["choice_id"] = i == 0 ? id : id + "-" + std::to_string(i + 1);
      c["checked"] = data(checked);
    }
    set_flag(o, "has_selection", has_selection);
    o["choices"] = choices.build();
  }
  return o;
}

const Field* find_field(const FormDeclaration& form, const std::string& name) {
  for (const auto& f : form.fields) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

data error_summary(const FormDeclaration& form, const RenderContext& context) {
  ListBuilder items(context.errors.size());
  for (const auto& e : context.errors) {
    const Field* field = e.field.empty() ? nullptr : find_field(form, e.field);
    data& item = items.add();
    item["has_link"] = data(field != nullptr);
    item["target"] = field != nullptr ? field_id(field->name) : std::string();
    item["text"] =
        field != nullptr && !field->label.empty() ? field->label + ": " + e.message : e.message;
  }
  return items.build();
}

}  // namespace

std::string render_form(const FormDeclaration& form, const RenderContext& context) {
  kainjow::mustache::list fields;
  fields.reserve(form.fields.size());
  for (const auto& field : form.fields) fields.push_back(field_data(field, context));

  const bool has_errors = !context.errors.empty();
  // The page's keys. None of them may be a key of the field part of the template too (a
  // field that lacks the key would show the page's value): see set_flag.
  data body{data::type::object};
  body["title"] = form.title;
  body["has_description"] = data(!form.description.empty());
  body["description"] = form.description;
  body["has_errors"] = data(has_errors);
  body["summary"] = error_summary(form, context);
  body["action"] = context.action;
  body["token_name"] = std::string(kTokenInput);
  body["token"] = context.token;
  body["honeypot_name"] = std::string(kHoneypotInput);
  body["fields"] = data(fields);
  // F14: the copy box. Its keys are page keys, not set on any field (see set_flag).
  const Field* copy_field = form.copy_to.empty() ? nullptr : find_field(form, form.copy_to);
  body["has_copy"] = data(copy_field != nullptr);
  if (copy_field != nullptr) {
    body["copy_name"] = std::string(kCopyInput);
    body["copy_value"] = std::string(kCopyValue);
    body["copy_label"] = std::string(kCopyLabel);
    body["copy_help"] = "The copy goes to the address you type in \u201c" + copy_field->label +
                        "\u201d. It arrives as an e-mail with a link to read it securely.";
    body["copy_checked"] = data(context.copy_checked);
  }

  // "Error: " first, so a screen reader hears at once that the page came back with problems.
  const std::string title = has_errors ? "Error: " + form.title : form.title;
  return render_page(title, context.csp_nonce, templates().form, body);
}

std::string render_thanks(const FormDeclaration& form, std::string_view reference,
                          std::string_view csp_nonce, CopyNote copy) {
  const std::string message =
      form.success_message.empty() ? std::string(kDefaultSuccess) : form.success_message;
  data body{
      object{{"title", form.title}, {"message", message}, {"reference", std::string(reference)}}};
  if (copy != CopyNote::none) {
    body["has_copy_note"] = data(true);
    body["copy_note"] = std::string(copy == CopyNote::on_its_way ? kCopyOnItsWay : kCopyNotSent);
  }
  return render_page("Received: " + form.title, csp_nonce, templates().thanks, body);
}

std::string render_message_page(std::string_view title, std::string_view message,
                                std::string_view csp_nonce) {
  data body{object{{"title", std::string(title)}, {"message", std::string(message)}}};
  return render_page(title, csp_nonce, templates().message, body);
}

std::string render_unsubscribe_page(std::string_view title, std::string_view message,
                                    std::string_view action, std::string_view button,
                                    std::string_view csp_nonce) {
  object values{{"title", std::string(title)}, {"message", std::string(message)}};
  if (!action.empty()) {
    values["action"] = std::string(action);
    values["button"] = std::string(button);
  }
  return render_page(title, csp_nonce, templates().unsubscribe, data{values});
}

}  // namespace forms
