// Rendering of the public form pages: accessibility structure, echo, escaping (F5, F6),
// honeypot (F9), and the page-wide rules (no script, nothing external, CSP nonce).

#include "forms/render.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "forms/assets.hpp"
#include "forms/declaration.hpp"

namespace forms {
namespace {

constexpr const char* kNonce = "bm9uY2Utdi0x";

Field make_field(std::string name, FieldType type, std::string label, bool required) {
  Field f;
  f.name = std::move(name);
  f.type = type;
  f.label = std::move(label);
  f.required = required;
  return f;
}

// The example intake form, built by hand so these tests do not depend on the TOML parser.
FormDeclaration intake() {
  FormDeclaration form;
  form.id = "intake";
  form.title = "New patient intake";
  form.description = "Tell us about yourself before your first visit.";
  form.success_message = "Thank you. Your information was received securely.";

  Field name = make_field("full_name", FieldType::text, "Full name", true);
  name.max_length = 200;
  form.fields.push_back(name);

  Field dob = make_field("date_of_birth", FieldType::date, "Date of birth", true);
  dob.min_date = "1900-01-01";
  dob.max_date = "today";
  form.fields.push_back(dob);

  form.fields.push_back(make_field("email", FieldType::email, "Email address", true));

  Field phone = make_field("phone", FieldType::phone, "Phone number", false);
  phone.region = "US";
  phone.help = "We only call about your appointment.";
  form.fields.push_back(phone);

  Field reason = make_field("visit_reason", FieldType::select, "Reason for your visit", true);
  reason.choices = {{"new", "New patient check-up"},
                    {"followup", "Follow-up visit"},
                    {"prescription", "Prescription refill"}};
  form.fields.push_back(reason);

  Field allergies =
      make_field("allergies", FieldType::textarea, "Allergies and current medication", false);
  allergies.max_length = 4000;
  form.fields.push_back(allergies);

  Field pain = make_field("pain_level", FieldType::number, "Pain level today (0-10)", false);
  pain.min_number = 0;
  pain.max_number = 10;
  pain.integer = true;
  form.fields.push_back(pain);

  Field contact =
      make_field("contact_methods", FieldType::checkbox, "How may we contact you?", false);
  contact.choices = {{"email", "Email"}, {"phone", "Phone"}, {"mail", "Post"}};
  form.fields.push_back(contact);

  Field time = make_field("preferred_time", FieldType::radio, "Preferred appointment time", true);
  time.choices = {{"morning", "Morning"}, {"afternoon", "Afternoon"}};
  form.fields.push_back(time);

  Field consent = make_field("privacy_consent", FieldType::consent,
                             "I have read the Notice of Privacy Practices", true);
  consent.consent_text = "I acknowledge that I have received the Notice (version 2026-01).";
  consent.consent_version = "2026-01";
  form.fields.push_back(consent);

  form.fields.push_back(
      make_field("signature", FieldType::signature, "Type your full name as your signature", true));
  return form;
}

RenderContext context() {
  RenderContext c;
  c.action = "/f/intake";
  c.token = "tok.en-value_123";
  c.csp_nonce = kNonce;
  return c;
}

std::size_t count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

// Small scanners instead of std::regex, which is very slow under ASan. Our tags are on one
// line and every attribute value is double-quoted.
std::string attribute(const std::string& tag, const std::string& name) {
  const std::string key = " " + name + "=\"";
  const auto at = tag.find(key);
  if (at == std::string::npos) return {};
  const auto begin = at + key.size();
  return tag.substr(begin, tag.find('"', begin) - begin);
}

bool has_bare_attribute(const std::string& tag, const std::string& name) {
  const std::string key = " " + name;
  for (auto at = tag.find(key); at != std::string::npos; at = tag.find(key, at + 1)) {
    const char next = at + key.size() < tag.size() ? tag[at + key.size()] : '\0';
    if (next == ' ' || next == '>') return true;
  }
  return false;
}

bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Opening tags of `element`, or of every element when it is empty.
std::vector<std::string> tags(const std::string& html, const std::string& element = {}) {
  std::vector<std::string> out;
  for (auto at = html.find('<'); at != std::string::npos; at = html.find('<', at + 1)) {
    std::size_t name_end = at + 1;
    while (name_end < html.size() && is_letter(html[name_end])) ++name_end;
    if (name_end == at + 1) continue;
    if (!element.empty() && html.compare(at + 1, name_end - at - 1, element) != 0) continue;
    if (name_end < html.size() && html[name_end] != ' ' && html[name_end] != '>') continue;
    out.push_back(html.substr(at, html.find('>', at) - at + 1));
  }
  return out;
}

// The opening tag of the control with this id.
std::string control(const std::string& html, const std::string& id) {
  for (const char* element : {"input", "select", "textarea"}) {
    for (const auto& tag : tags(html, element)) {
      if (attribute(tag, "id") == id) return tag;
    }
  }
  return {};
}

// Every tag with its quoted attribute values removed: what is left is markup we wrote, so an
// injected attribute would show up here. (Escaped values never contain a raw " or >.)
std::vector<std::string> tag_skeletons(const std::string& html) {
  std::vector<std::string> out;
  for (const auto& tag : tags(html)) {
    std::string bare;
    bool quoted = false;
    for (const char c : tag) {
      if (c == '"') quoted = !quoted;
      if (!quoted && c != '"') bare += c;
    }
    out.push_back(bare);
  }
  return out;
}

// An attribute named on... (an event handler) in a tag skeleton.
bool has_event_handler(const std::string& bare_tag) {
  for (auto at = bare_tag.find(" on"); at != std::string::npos; at = bare_tag.find(" on", at + 1)) {
    if (at + 3 < bare_tag.size() && is_letter(bare_tag[at + 3])) return true;
  }
  return false;
}

// The things every page must hold, whatever it shows.
void expect_page_rules(const std::string& html) {
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("<html lang=\"en\">"), std::string::npos);
  EXPECT_NE(html.find("<meta name=\"viewport\""), std::string::npos);
  EXPECT_EQ(count(html, "<title>"), 1u);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<SCRIPT"), std::string::npos);
  EXPECT_EQ(html.find("javascript:"), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("url("), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find(" style="), std::string::npos);  // inline style attributes defeat CSP
  for (const auto& tag : tag_skeletons(html)) {
    EXPECT_FALSE(has_event_handler(tag)) << tag;
    EXPECT_EQ(tag.find(" autofocus"), std::string::npos) << tag;
    EXPECT_EQ(tag.find(" src"), std::string::npos) << tag;
  }
  // Exactly one style element, carrying the nonce, holding the stylesheet verbatim.
  ASSERT_EQ(count(html, "<style"), 1u);
  EXPECT_NE(html.find(std::string("<style nonce=\"") + kNonce + "\">"), std::string::npos);
  const auto css = asset("static/form.css");
  ASSERT_TRUE(css.has_value());
  EXPECT_NE(html.find(std::string(*css)), std::string::npos);
  // Every link stays on the page.
  for (const auto& a : tags(html, "a")) EXPECT_EQ(attribute(a, "href").rfind('#', 0), 0u) << a;
}

TEST(Render, StylesheetSurvivesEscapingUnchanged) {
  const auto css = asset("static/form.css");
  ASSERT_TRUE(css.has_value());
  EXPECT_EQ(css->find_first_of("<>&\"'"), std::string_view::npos);
  EXPECT_EQ(css->find("url("), std::string_view::npos);
}

TEST(Render, FormIsACompletePageWithTheFormAttributes) {
  const std::string html = render_form(intake(), context());
  expect_page_rules(html);
  EXPECT_NE(html.find("<title>New patient intake</title>"), std::string::npos);
  EXPECT_NE(html.find("<h1>New patient intake</h1>"), std::string::npos);
  EXPECT_NE(html.find("Tell us about yourself before your first visit."), std::string::npos);
  const auto forms = tags(html, "form");
  ASSERT_EQ(forms.size(), 1u);
  EXPECT_EQ(attribute(forms[0], "method"), "post");
  EXPECT_EQ(attribute(forms[0], "action"), "/f/intake");
  EXPECT_EQ(attribute(forms[0], "accept-charset"), "UTF-8");
  EXPECT_NE(html.find("<button type=\"submit\">"), std::string::npos);
}

TEST(Render, EveryFieldTypeHasItsControl) {
  const std::string html = render_form(intake(), context());
  EXPECT_EQ(attribute(control(html, "field-full_name"), "type"), "text");
  EXPECT_EQ(attribute(control(html, "field-full_name"), "maxlength"), "200");
  EXPECT_EQ(attribute(control(html, "field-date_of_birth"), "type"), "date");
  EXPECT_EQ(attribute(control(html, "field-email"), "type"), "email");
  EXPECT_EQ(attribute(control(html, "field-email"), "autocomplete"), "email");
  EXPECT_EQ(attribute(control(html, "field-phone"), "type"), "tel");
  EXPECT_EQ(control(html, "field-visit_reason").rfind("<select", 0), 0u);
  EXPECT_EQ(control(html, "field-allergies").rfind("<textarea", 0), 0u);
  EXPECT_EQ(attribute(control(html, "field-allergies"), "maxlength"), "4000");
  EXPECT_EQ(attribute(control(html, "field-pain_level"), "type"), "number");
  EXPECT_EQ(attribute(control(html, "field-contact_methods"), "type"), "checkbox");
  EXPECT_EQ(attribute(control(html, "field-preferred_time"), "type"), "radio");
  EXPECT_EQ(attribute(control(html, "field-privacy_consent"), "type"), "checkbox");
  EXPECT_EQ(attribute(control(html, "field-privacy_consent"), "value"), "yes");
  EXPECT_EQ(attribute(control(html, "field-signature"), "type"), "text");
  EXPECT_EQ(attribute(control(html, "field-signature"), "autocomplete"), "name");
  EXPECT_NE(html.find("electronic signature"), std::string::npos);
  EXPECT_NE(html.find("I acknowledge that I have received the Notice (version 2026-01)."),
            std::string::npos);
}

TEST(Render, EveryVisibleControlHasALabelForItAndIdsAreUnique) {
  const std::string html = render_form(intake(), context());
  std::set<std::string> label_targets;
  for (const auto& label : tags(html, "label")) label_targets.insert(attribute(label, "for"));
  std::set<std::string> ids;
  for (const auto& tag : tags(html)) {
    const std::string id = attribute(tag, "id");
    if (!id.empty()) {
      EXPECT_TRUE(ids.insert(id).second) << "duplicate id " << id;
    }
  }
  std::size_t controls = 0;
  for (const char* element : {"input", "select", "textarea"}) {
    for (const auto& tag : tags(html, element)) {
      if (attribute(tag, "type") == "hidden") continue;
      ++controls;
      const std::string id = attribute(tag, "id");
      ASSERT_FALSE(id.empty()) << tag;
      EXPECT_TRUE(label_targets.count(id)) << "no <label for> for " << tag;
    }
  }
  // 9 single controls + 3 checkboxes + 2 radios - 2 group fields counted once above + honeypot.
  EXPECT_EQ(controls, 15u);
  // Every label points at something that exists.
  for (const auto& target : label_targets) EXPECT_TRUE(ids.count(target)) << target;
}

TEST(Render, ChoiceGroupsAreFieldsetsWithALegend) {
  const std::string html = render_form(intake(), context());
  EXPECT_EQ(count(html, "<fieldset"), 2u);
  EXPECT_EQ(count(html, "<legend>"), 2u);
  EXPECT_NE(html.find("<legend>How may we contact you?</legend>"), std::string::npos);
  EXPECT_NE(html.find("<legend>Preferred appointment time <span class=\"required\">(required)"
                      "</span></legend>"),
            std::string::npos);
  // All the boxes of a group share the field's name, each with its own id.
  EXPECT_EQ(count(html, "name=\"contact_methods\""), 3u);
  EXPECT_EQ(attribute(control(html, "field-contact_methods-3"), "value"), "mail");
  EXPECT_EQ(attribute(control(html, "field-preferred_time-2"), "value"), "afternoon");
}

TEST(Render, RequiredIsVisibleAndEnforcedByTheBrowser) {
  const std::string html = render_form(intake(), context());
  for (const char* id : {"field-full_name", "field-date_of_birth", "field-email",
                         "field-visit_reason", "field-preferred_time", "field-preferred_time-2",
                         "field-privacy_consent", "field-signature"}) {
    EXPECT_TRUE(has_bare_attribute(control(html, id), "required")) << id;
  }
  for (const char* id :
       {"field-phone", "field-allergies", "field-pain_level", "field-contact_methods"}) {
    EXPECT_FALSE(has_bare_attribute(control(html, id), "required")) << id;
  }
  EXPECT_NE(html.find("<label for=\"field-full_name\">Full name <span class=\"required\">"
                      "(required)</span></label>"),
            std::string::npos);
  EXPECT_NE(html.find("<label for=\"field-phone\">Phone number</label>"), std::string::npos);
}

TEST(Render, RequiredCheckboxGroupIsMarkedButNotRequiredPerBox) {
  FormDeclaration form = intake();
  form.fields[7].required = true;  // contact_methods
  const std::string html = render_form(form, context());
  EXPECT_NE(html.find("<legend>How may we contact you? <span class=\"required\">"),
            std::string::npos);
  EXPECT_FALSE(has_bare_attribute(control(html, "field-contact_methods"), "required"));
}

TEST(Render, NumberAndDateBounds) {
  FormDeclaration form = intake();
  Field weight = make_field("weight", FieldType::number, "Weight (kg)", false);
  weight.min_number = 0.5;
  weight.max_number = 500;
  form.fields.push_back(weight);
  const std::string html = render_form(form, context());
  const std::string pain = control(html, "field-pain_level");
  EXPECT_EQ(attribute(pain, "min"), "0");
  EXPECT_EQ(attribute(pain, "max"), "10");
  EXPECT_EQ(attribute(pain, "step"), "1");
  const std::string w = control(html, "field-weight");
  EXPECT_EQ(attribute(w, "min"), "0.5");
  EXPECT_EQ(attribute(w, "max"), "500");
  EXPECT_EQ(attribute(w, "step"), "any");  // the browser's default step would refuse 72.5
  const std::string dob = control(html, "field-date_of_birth");
  EXPECT_EQ(attribute(dob, "min"), "1900-01-01");
  EXPECT_EQ(dob.find(" max="), std::string::npos);  // "today" is not rendered
}

TEST(Render, HelpTextIsLinkedByAriaDescribedby) {
  const std::string html = render_form(intake(), context());
  EXPECT_NE(html.find("<p class=\"help\" id=\"field-phone-help\">We only call about your "
                      "appointment.</p>"),
            std::string::npos);
  EXPECT_EQ(attribute(control(html, "field-phone"), "aria-describedby"), "field-phone-help");
  EXPECT_EQ(attribute(control(html, "field-privacy_consent"), "aria-describedby"),
            "field-privacy_consent-text");
  EXPECT_EQ(attribute(control(html, "field-full_name"), "aria-describedby"), "");
}

TEST(Render, NoErrorsMeansNoSummaryAndNoAriaInvalid) {
  const std::string html = render_form(intake(), context());
  EXPECT_EQ(html.find("role=\"alert\""), std::string::npos);
  EXPECT_EQ(html.find("aria-invalid"), std::string::npos);
  EXPECT_EQ(html.find("class=\"error-message\""), std::string::npos);
}

TEST(Render, ErrorsGetASummaryLinksAndAriaInvalid) {
  RenderContext c = context();
  c.errors = {{"", "The form expired; please check your answers and send it again."},
              {"email", "Enter an email address like name@example.com."},
              {"preferred_time", "Choose a time."},
              {"phone", "Enter a phone number."},
              {"phone", "Use digits only."}};
  const std::string html = render_form(intake(), c);
  expect_page_rules(html);
  EXPECT_NE(html.find("<title>Error: New patient intake</title>"), std::string::npos);

  const auto summary_at = html.find("role=\"alert\"");
  ASSERT_NE(summary_at, std::string::npos);
  EXPECT_LT(summary_at, html.find("<form"));  // at the top
  EXPECT_NE(html.find("<h2 id=\"error-summary-title\">There is a problem</h2>"), std::string::npos);
  EXPECT_NE(html.find("<li>The form expired; please check your answers and send it again.</li>"),
            std::string::npos);
  EXPECT_NE(html.find("<a href=\"#field-email\">Email address: Enter an email address like "
                      "name@example.com.</a>"),
            std::string::npos);
  EXPECT_NE(html.find("<a href=\"#field-preferred_time\">"), std::string::npos);
  EXPECT_EQ(count(html, "<a href=\"#field-phone\">"), 2u);

  const std::string email = control(html, "field-email");
  EXPECT_EQ(attribute(email, "aria-invalid"), "true");
  EXPECT_EQ(attribute(email, "aria-describedby"), "field-email-error");
  EXPECT_NE(html.find("<p class=\"error-message\" id=\"field-email-error\">"), std::string::npos);
  EXPECT_EQ(attribute(control(html, "field-phone"), "aria-describedby"),
            "field-phone-help field-phone-error");
  EXPECT_EQ(attribute(control(html, "field-preferred_time"), "aria-invalid"), "true");
  EXPECT_EQ(attribute(control(html, "field-preferred_time-2"), "aria-invalid"), "true");
  EXPECT_NE(html.find("<fieldset aria-describedby=\"field-preferred_time-error\">"),
            std::string::npos);
  // Fields without errors stay clean.
  EXPECT_EQ(attribute(control(html, "field-full_name"), "aria-invalid"), "");
  // 1 email + 2 radios + 1 phone.
  EXPECT_EQ(count(html, "aria-invalid=\"true\""), 4u);
}

TEST(Render, ErrorForAnUnknownFieldIsListedWithoutALink) {
  RenderContext c = context();
  c.errors = {{"no_such_field", "This form has changed; please check your answers."}};
  const std::string html = render_form(intake(), c);
  EXPECT_NE(html.find("<li>This form has changed; please check your answers.</li>"),
            std::string::npos);
  EXPECT_EQ(html.find("#no_such_field"), std::string::npos);
  EXPECT_EQ(html.find("#field-no_such_field"), std::string::npos);
}

TEST(Render, EchoRefillsWhatTheUserTyped) {
  RenderContext c = context();
  c.echo = {{"full_name", {"Ada Lovelace"}},
            {"date_of_birth", {"1815-12-10"}},
            {"allergies", {"Penicillin\nPollen"}},
            {"visit_reason", {"followup"}},
            {"contact_methods", {"email", "mail"}},
            {"preferred_time", {"afternoon"}},
            {"pain_level", {"3"}},
            {"privacy_consent", {"yes"}}};
  const std::string html = render_form(intake(), c);
  EXPECT_EQ(attribute(control(html, "field-full_name"), "value"), "Ada Lovelace");
  EXPECT_EQ(attribute(control(html, "field-date_of_birth"), "value"), "1815-12-10");
  EXPECT_EQ(attribute(control(html, "field-pain_level"), "value"), "3");
  EXPECT_EQ(attribute(control(html, "field-email"), "value"), "");
  EXPECT_NE(html.find(">\nPenicillin\nPollen</textarea>"), std::string::npos);
  EXPECT_NE(html.find("<option value=\"followup\" selected>Follow-up visit</option>"),
            std::string::npos);
  EXPECT_NE(html.find("<option value=\"new\">New patient check-up</option>"), std::string::npos);
  EXPECT_NE(html.find("<option value=\"\">Choose…</option>"), std::string::npos);
  EXPECT_TRUE(has_bare_attribute(control(html, "field-contact_methods"), "checked"));
  EXPECT_FALSE(has_bare_attribute(control(html, "field-contact_methods-2"), "checked"));
  EXPECT_TRUE(has_bare_attribute(control(html, "field-contact_methods-3"), "checked"));
  EXPECT_FALSE(has_bare_attribute(control(html, "field-preferred_time"), "checked"));
  EXPECT_TRUE(has_bare_attribute(control(html, "field-preferred_time-2"), "checked"));
  EXPECT_TRUE(has_bare_attribute(control(html, "field-privacy_consent"), "checked"));
}

TEST(Render, PageValuesNeverLeakIntoFields) {
  // A field object leaves out its false and empty keys; a lookup of a missing key would fall
  // through to the page object. Distinct page values must each appear only where they belong.
  FormDeclaration form = intake();
  form.title = "PAGE-TITLE";
  form.description = "PAGE-DESCRIPTION";
  RenderContext c = context();
  c.action = "PAGE-ACTION";
  c.token = "PAGE-TOKEN";
  c.errors = {{"", "PAGE-ERROR"}};
  const std::string html = render_form(form, c);
  EXPECT_EQ(count(html, "PAGE-TITLE"), 2u);  // <title> and <h1>
  EXPECT_EQ(count(html, "PAGE-DESCRIPTION"), 1u);
  EXPECT_EQ(count(html, "PAGE-ACTION"), 1u);
  EXPECT_EQ(count(html, "PAGE-TOKEN"), 1u);
  EXPECT_EQ(count(html, "PAGE-ERROR"), 1u);
  EXPECT_EQ(count(html, "<div class=\"field\">"), form.fields.size());
  EXPECT_EQ(count(html, "aria-invalid"), 0u);
}

TEST(Render, SelectWithoutAnswerPreselectsTheEmptyChoice) {
  const std::string html = render_form(intake(), context());
  EXPECT_NE(html.find("<option value=\"\" selected>Choose…</option>"), std::string::npos);
  EXPECT_EQ(count(html, " selected"), 1u);
  EXPECT_EQ(html.find(" checked"), std::string::npos);
}

TEST(Render, TextareaKeepsALeadingNewline) {
  // The HTML parser drops one newline right after <textarea>; the template supplies it.
  RenderContext c = context();
  c.echo = {{"allergies", {"\nindented"}}};
  const std::string html = render_form(intake(), c);
  EXPECT_NE(html.find(">\n\nindented</textarea>"), std::string::npos);
}

const std::vector<std::string> kPayloads = {"<script>alert(1)</script>",
                                            "\"><img src=x onerror=alert(1)>",
                                            "'",
                                            "&",
                                            "</textarea><script>alert(2)</script>",
                                            "' autofocus onfocus='alert(3)",
                                            "{{title}}{{{title}}}"};

void expect_no_markup_injected(const std::string& html) {
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("</textarea><"), std::string::npos);
  for (const auto& tag : tag_skeletons(html)) {
    EXPECT_FALSE(has_event_handler(tag)) << tag;
    EXPECT_EQ(tag.find(" autofocus"), std::string::npos) << tag;
    EXPECT_EQ(tag.find(" src"), std::string::npos) << tag;
  }
}

TEST(Render, ValuesAreNeverReadAsTemplates) {
  FormDeclaration form = intake();
  form.description = "{{title}} {{{token}}} {{#fields}}x{{/fields}}";
  RenderContext c = context();
  c.echo = {{"full_name", {"{{token}}"}}};
  const std::string html = render_form(form, c);
  EXPECT_NE(html.find("<p class=\"description\">{{title}} {{{token}}} {{#fields}}x{{/fields}}</p>"),
            std::string::npos);
  EXPECT_EQ(attribute(control(html, "field-full_name"), "value"), "{{token}}");
}

TEST(Render, EchoedValuesAreEscaped) {
  for (const auto& payload : kPayloads) {
    RenderContext c = context();
    for (const auto& field : intake().fields) c.echo[field.name] = {payload};
    c.echo["contact_methods"] = {payload, "email"};
    c.errors = {{"email", payload}, {"", payload}};
    const std::string html = render_form(intake(), c);
    expect_no_markup_injected(html);
    expect_page_rules(html);
  }
  RenderContext c = context();
  c.echo = {{"full_name", {"\"><img src=x onerror=alert(1)> ' & <script>alert(1)</script>"}},
            {"allergies", {"</textarea><script>alert(2)</script>"}}};
  const std::string html = render_form(intake(), c);
  EXPECT_EQ(attribute(control(html, "field-full_name"), "value"),
            "&quot;&gt;&lt;img src=x onerror=alert(1)&gt; &apos; &amp; "
            "&lt;script&gt;alert(1)&lt;/script&gt;");
  EXPECT_NE(html.find("&lt;/textarea&gt;&lt;script&gt;alert(2)&lt;/script&gt;</textarea>"),
            std::string::npos);
}

TEST(Render, DeclarationTextIsEscaped) {
  for (const auto& payload : kPayloads) {
    FormDeclaration form = intake();
    form.title = payload;
    form.description = payload;
    form.success_message = payload;
    for (auto& field : form.fields) {
      field.label = payload;
      field.help = payload;
      field.consent_text = payload;
      field.pattern = payload;
      for (auto& choice : field.choices) {
        choice.label = payload;
        choice.value = payload;
      }
    }
    RenderContext c = context();
    c.action = payload;
    c.token = payload;
    c.errors = {{"full_name", "required"}};
    const std::string form_html = render_form(form, c);
    expect_no_markup_injected(form_html);
    const std::string thanks = render_thanks(form, payload, kNonce);
    expect_no_markup_injected(thanks);
    const std::string message = render_message_page(payload, payload, kNonce);
    expect_no_markup_injected(message);
  }
  FormDeclaration form = intake();
  form.title = "<script>alert(1)</script>";
  form.fields[4].choices[0].label = "\"><img src=x onerror=alert(1)>";
  const std::string html = render_form(form, context());
  EXPECT_NE(html.find("<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>"), std::string::npos);
  EXPECT_NE(html.find(">&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</option>"), std::string::npos);
}

TEST(Render, NonceIsEscapedToo) {
  RenderContext c = context();
  c.csp_nonce = "\"><script>alert(1)</script>";
  const std::string html = render_form(intake(), c);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_NE(html.find("<style nonce=\"&quot;&gt;&lt;script&gt;"), std::string::npos);
}

TEST(Render, TokenAndHoneypotAreThere) {
  const std::string html = render_form(intake(), context());
  EXPECT_NE(html.find("<input type=\"hidden\" name=\"_token\" value=\"tok.en-value_123\">"),
            std::string::npos);
  const auto hp = html.find("name=\"" + std::string(kHoneypotInput) + "\"");
  ASSERT_NE(hp, std::string::npos);
  const auto input = control(html, "hp-website");
  EXPECT_EQ(attribute(input, "type"), "text");
  EXPECT_EQ(attribute(input, "name"), "_website");
  EXPECT_EQ(attribute(input, "tabindex"), "-1");
  EXPECT_EQ(attribute(input, "autocomplete"), "off");
  EXPECT_EQ(attribute(input, "value"), "");
  // Inside the off-screen, aria-hidden wrapper, with a label telling people to leave it.
  const auto wrapper = html.rfind("<div class=\"hp\" aria-hidden=\"true\">", hp);
  ASSERT_NE(wrapper, std::string::npos);
  EXPECT_EQ(html.find("</div>", wrapper), html.find("</div>", hp));
  EXPECT_NE(html.find("<label for=\"hp-website\">Leave this field empty</label>"),
            std::string::npos);
  const auto css = std::string(*asset("static/form.css"));
  const auto rule = css.find(".hp {");
  ASSERT_NE(rule, std::string::npos);
  const std::string body = css.substr(rule, css.find('}', rule) - rule);
  EXPECT_NE(body.find("position: absolute"), std::string::npos);
  EXPECT_NE(body.find("left: -10000px"), std::string::npos);
  // The token and honeypot are inside the form.
  EXPECT_LT(html.find("<form"), html.find("name=\"_token\""));
  EXPECT_LT(hp, html.find("</form>"));
}

TEST(Render, ThanksPageShowsTheReferenceToKeep) {
  const std::string html = render_thanks(intake(), "SP-7Q4K-M2XD", kNonce);
  expect_page_rules(html);
  EXPECT_NE(html.find("Thank you. Your information was received securely."), std::string::npos);
  EXPECT_NE(html.find("<output class=\"reference\" id=\"reference\" "
                      "aria-labelledby=\"reference-label\">SP-7Q4K-M2XD</output>"),
            std::string::npos);
  EXPECT_NE(html.find("keep this number"), std::string::npos);
  EXPECT_EQ(html.find("<form"), std::string::npos);

  FormDeclaration form = intake();
  form.success_message.clear();
  const std::string fallback = render_thanks(form, "<b>ref</b>", kNonce);
  EXPECT_NE(fallback.find("Thank you. Your information was received securely."), std::string::npos);
  EXPECT_NE(fallback.find(">&lt;b&gt;ref&lt;/b&gt;</output>"), std::string::npos);
}

TEST(Render, CopyBoxOnlyOnFormsWithCopyTo) {
  EXPECT_EQ(render_form(intake(), context()).find("name=\"_copy\""), std::string::npos);

  FormDeclaration form = intake();
  form.copy_to = "email";
  const std::string html = render_form(form, context());
  expect_page_rules(html);
  std::vector<std::string> boxes;
  for (const auto& tag : tags(html, "input")) {
    if (attribute(tag, "name") == "_copy") boxes.push_back(tag);
  }
  ASSERT_EQ(boxes.size(), 1u) << html;
  const std::string& box = boxes.front();
  EXPECT_EQ(attribute(box, "type"), "checkbox");
  EXPECT_EQ(attribute(box, "value"), "1");
  EXPECT_EQ(box.find(" checked"), std::string::npos) << "unchecked unless the submitter ticks it";
  // Labelled, and its hint (naming the e-mail field's label) linked by aria-describedby.
  const std::string id = attribute(box, "id");
  ASSERT_FALSE(id.empty());
  EXPECT_NE(html.find("<label for=\"" + id +
                      "\">E-mail me a copy of what I sent (through our secure-message "
                      "service)</label>"),
            std::string::npos);
  const std::string hint_id = attribute(box, "aria-describedby");
  ASSERT_FALSE(hint_id.empty());
  const auto hint = html.find("id=\"" + hint_id + "\"");
  ASSERT_NE(hint, std::string::npos);
  EXPECT_NE(html.find("Email address", hint), std::string::npos);
  // Inside the form, before the honeypot and the button.
  EXPECT_LT(html.find("name=\"_copy\""), html.find("name=\"_website\""));

  RenderContext echoed = context();
  echoed.copy_checked = true;
  const std::string again = render_form(form, echoed);
  for (const auto& tag : tags(again, "input")) {
    if (attribute(tag, "name") == "_copy") {
      EXPECT_NE(tag.find(" checked"), std::string::npos);
    }
  }
}

TEST(Render, ThanksPageSaysWhatBecameOfTheCopy) {
  const std::string none = render_thanks(intake(), "SP-7Q4K-M2XD", kNonce);
  EXPECT_EQ(none.find("A copy is on its way"), std::string::npos);
  EXPECT_EQ(none.find("could not send a copy"), std::string::npos);
  const std::string sent = render_thanks(intake(), "SP-7Q4K-M2XD", kNonce, CopyNote::on_its_way);
  expect_page_rules(sent);
  EXPECT_NE(sent.find("A copy is on its way"), std::string::npos);
  EXPECT_EQ(sent.find("We could not send a copy this time"), std::string::npos);
  const std::string refused = render_thanks(intake(), "SP-7Q4K-M2XD", kNonce, CopyNote::not_sent);
  EXPECT_NE(refused.find("We could not send a copy this time"), std::string::npos);
  EXPECT_EQ(refused.find("A copy is on its way"), std::string::npos);
}

TEST(Render, MessagePageIsPlain) {
  const std::string html = render_message_page(
      "Form expired", "This form is no longer valid. Please reload it.", kNonce);
  expect_page_rules(html);
  EXPECT_NE(html.find("<title>Form expired</title>"), std::string::npos);
  EXPECT_NE(html.find("<h1>Form expired</h1>"), std::string::npos);
  EXPECT_NE(html.find("<p>This form is no longer valid. Please reload it.</p>"), std::string::npos);
  EXPECT_EQ(html.find("<form"), std::string::npos);
}

TEST(Render, ConcurrentRenderingGivesTheSameBytes) {
  RenderContext c = context();
  c.echo = {{"full_name", {"Ada"}}};
  c.errors = {{"email", "Enter an email address."}};
  const std::string expected = render_form(intake(), c);
  std::vector<std::string> results(4);
  std::vector<std::thread> threads;
  for (auto& result : results) {
    threads.emplace_back([&result, &c] {
      for (int i = 0; i < 20; ++i) result = render_form(intake(), c);
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& result : results) EXPECT_EQ(result, expected);
}

TEST(Render, TheExampleIntakeDeclarationRendersEveryField) {
  std::ifstream in(std::string(SEALPOST_EXAMPLES_DIR) + "/intake.toml");
  ASSERT_TRUE(in) << "examples/intake.toml not found";
  std::stringstream text;
  text << in.rdbuf();
  const auto form = parse_declaration(text.str());
  ASSERT_TRUE(form.has_value()) << form.error().public_text();
  const std::string html = render_form(*form, context());
  expect_page_rules(html);
  std::set<std::string> label_targets;
  for (const auto& label : tags(html, "label")) label_targets.insert(attribute(label, "for"));
  std::set<FieldType> types;
  for (const auto& field : form->fields) {
    types.insert(field.type);
    const std::string id = "field-" + field.name;
    EXPECT_FALSE(control(html, id).empty()) << id;
    EXPECT_TRUE(label_targets.count(id)) << id;
  }
  EXPECT_EQ(types.size(), 11u);  // the example exercises every field type
}

}  // namespace
}  // namespace forms
