// Trust: untrusted network input (JSON bodies, the request target); nothing a client sends is
// logged.
// Reading: the forms a user may see, submission metadata, and ciphertext for the browser to
// decrypt. Every delivery of submission data is audited before it is sent, and a failing
// audit write stops the delivery.
#include <fmt/format.h>

#include <algorithm>

#include "forms/declaration.hpp"
#include "forms/reference.hpp"
#include "portal/detail/query.hpp"
#include "portal/detail/shared.hpp"

namespace portal::detail {

using core::ErrorKind;
using store::Role;

namespace {

core::Result<bool> granted(Shared& s, const Call& call, const std::string& form_id) {
  auto grants = s.store.accounts().list_grants_blocking(call.user->id);
  if (!grants) return core::fail(grants.error());
  return std::any_of(grants->begin(), grants->end(),
                     [&](const auto& g) { return g.form_id == form_id; });
}

// The form exists and the caller is granted it: nullopt. Otherwise the reply (404 / 403,
// the refusal audited).
std::optional<Reply> check_form_access(Shared& s, Call& call, const std::string& form_id) {
  auto form = s.store.forms().latest_form_blocking(form_id);
  if (!form) return s.store_error(call, form.error());
  if (!*form) return error_reply(Status::not_found, "There is no such form.");
  auto ok = granted(s, call, form_id);
  if (!ok) return s.store_error(call, ok.error());
  // An auditor or reviewer with a grant still reads no health data (P4).
  if (!*ok || !Roles(call.user->roles).any_of(kReaders)) {
    s.note(call, "access.denied", "form:" + form_id, "denied");
    return error_reply(Status::forbidden, "You have not been given access to this form.");
  }
  return std::nullopt;
}

core::Result<store::SubmissionQuery> submission_query(const Call& call,
                                                      const std::string& form_id) {
  auto q = parse_query(call.req.target);
  if (!q) return core::fail(q.error());
  auto range = range_params(*q);
  if (!range) return core::fail(range.error());
  store::SubmissionQuery query{.form_id = form_id,
                               .received_from = range->from,
                               .received_to = range->to,
                               .after_seq = range->after,
                               .limit = range->limit};
  if (auto ref = q->get("reference"); ref && !ref->empty()) {
    std::string upper;
    for (char c : *ref)
      upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    if (!forms::is_reference(upper)) {
      return core::fail(ErrorKind::invalid_input,
                        "A reference looks like XXXX-XXXX-XXXX (letters and digits).");
    }
    query.reference = upper;
  }
  return query;
}

std::string search_object(const store::SubmissionQuery& q) {
  std::string out = "form:" + q.form_id;
  if (q.reference) out += " reference:" + *q.reference;
  if (q.received_from) out += fmt::format(" from:{}", *q.received_from);
  if (q.received_to) out += fmt::format(" to:{}", *q.received_to);
  return out;
}

// Paging: the store is asked for one row more than the page; if it comes, there is a next

}  // namespace

Reply my_key(Shared& s, Call& call) {
  if (!call.user->key_fingerprint) return error_reply(Status::not_found, "You have no key yet.");
  auto key = s.store.forms().find_key_blocking(*call.user->key_fingerprint);
  if (!key) return s.store_error(call, key.error());
  if (!*key) return error_reply(Status::not_found, "You have no key yet.");
  if (call.user->private_key_armored) {
    // The passphrase-protected private key leaves the server: audited first.
    if (auto st = s.audit(call, "key.fetch", "key:" + (*key)->fingerprint, "ok"); !st) {
      return s.audit_refused(call, st.error());
    }
  }
  return json_reply(Status::ok, json{{"fingerprint", (*key)->fingerprint},
                                     {"public_key", (*key)->armored},
                                     {"private_key", call.user->private_key_armored
                                                         ? json(*call.user->private_key_armored)
                                                         : json(nullptr)}});
}

Reply server_key(Shared& s, Call&) {
  return json_reply(Status::ok, json{{"fingerprint", s.keys.server_fingerprint},
                                     {"public_key", s.keys.server_public_armored}});
}

Reply list_forms(Shared& s, Call& call) {
  auto forms = s.store.forms().latest_forms_blocking();
  if (!forms) return s.store_error(call, forms.error());
  auto grants = s.store.accounts().list_grants_blocking(call.user->id);
  if (!grants) return s.store_error(call, grants.error());
  bool sees_all = call.has(Role::admin) || call.has(Role::form_owner);
  json out = json::array();
  for (const auto& f : *forms) {
    bool readable = std::any_of(grants->begin(), grants->end(),
                                [&](const auto& g) { return g.form_id == f.form_id; });
    if (!readable && !sees_all) continue;
    std::string title = f.form_id;
    json fields = json::array();
    if (auto decl = forms::parse_declaration(f.declaration)) {
      title = decl->title;
      for (const auto& field : decl->fields) {
        fields.push_back(json{
            {"name", field.name}, {"label", field.label}, {"type", forms::to_string(field.type)}});
      }
    }
    auto count = s.store.submissions().count_submissions_blocking(f.form_id);
    if (!count) return s.store_error(call, count.error());
    out.push_back(json{{"id", f.form_id},
                       {"title", title},
                       {"version", f.version},
                       {"enabled", f.enabled},
                       {"readable", readable},
                       {"recipients", f.granted_recipients},
                       {"fields", fields},
                       {"submissions", *count}});
  }
  return json_reply(Status::ok, out);
}

Reply list_submissions(Shared& s, Call& call) {
  const std::string& form_id = call.req.params.at("form");
  if (auto denied = check_form_access(s, call, form_id)) return *denied;
  auto query = submission_query(call, form_id);
  if (!query) return error_reply(Status::bad_request, query.error().public_text());
  if (auto st = s.audit(call, "submission.search", search_object(*query), "ok"); !st) {
    return s.audit_refused(call, st.error());
  }
  const std::size_t limit = query->limit;
  query->limit = limit + 1;
  auto rows = s.store.submissions().query_submissions_blocking(*query);
  if (!rows) return s.store_error(call, rows.error());
  json next = take_page(*rows, limit, [](const auto& m) { return m.seq; });
  json items = json::array();
  for (const auto& m : *rows) {
    items.push_back(json{{"seq", m.seq},
                         {"reference", m.reference},
                         {"received_at", m.received_at},
                         {"size", m.size},
                         {"form_version", m.form_version}});
  }
  return json_reply(Status::ok, json{{"items", items}, {"next_after", next}});
}

Reply view_submission(Shared& s, Call& call) {
  const std::string& form_id = call.req.params.at("form");
  if (auto denied = check_form_access(s, call, form_id)) return *denied;
  const std::string& ref = call.req.params.at("ref");
  if (!forms::is_reference(ref))
    return error_reply(Status::not_found, "There is no such submission.");
  auto found = s.store.submissions().get_submission_blocking(form_id, ref);
  if (!found) return s.store_error(call, found.error());
  if (!*found) return error_reply(Status::not_found, "There is no such submission.");
  // Audited before a byte of it leaves.
  if (auto st = s.audit(call, "submission.view", "form:" + form_id + " reference:" + ref, "ok");
      !st) {
    return s.audit_refused(call, st.error());
  }
  const auto& sub = **found;
  return json_reply(Status::ok, json{{"reference", sub.meta.reference},
                                     {"received_at", sub.meta.received_at},
                                     {"form_version", sub.meta.form_version},
                                     {"ciphertext", base64(sub.ciphertext)}});
}

Reply export_batch(Shared& s, Call& call) {
  const std::string& form_id = call.req.params.at("form");
  if (auto denied = check_form_access(s, call, form_id)) return *denied;
  auto query = submission_query(call, form_id);
  if (!query) return error_reply(Status::bad_request, query.error().public_text());
  const std::size_t limit = query->limit;
  query->limit = limit + 1;
  auto rows = s.store.submissions().query_ciphertexts_blocking(*query);
  if (!rows) return s.store_error(call, rows.error());
  json next = take_page(*rows, limit, [](const auto& sub) { return sub.meta.seq; });
  query->limit = limit;
  // At most ~32 MiB of ciphertext per answer (a form may allow 10 MiB submissions): a
  // shorter batch, and the next one starts after its last row.
  std::size_t bytes = 0;
  for (std::size_t i = 0; i < rows->size(); ++i) {
    bytes += (*rows)[i].ciphertext.size();
    if (bytes > kMaxExportBatchBytes && i > 0) {
      rows->resize(i);
      next = json(rows->back().meta.seq);
      break;
    }
  }
  auto object =
      fmt::format("{} after:{} count:{}", search_object(*query), query->after_seq, rows->size());
  if (auto st = s.audit(call, "submission.export", object, "ok"); !st) {
    return s.audit_refused(call, st.error());
  }
  json items = json::array();
  for (const auto& sub : *rows) {
    items.push_back(json{{"seq", sub.meta.seq},
                         {"reference", sub.meta.reference},
                         {"received_at", sub.meta.received_at},
                         {"form_version", sub.meta.form_version},
                         {"ciphertext", base64(sub.ciphertext)}});
  }
  return json_reply(Status::ok, json{{"items", items}, {"next_after", next}});
}

}  // namespace portal::detail
