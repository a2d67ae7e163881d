// Trust: untrusted network input (JSON bodies, the request target); nothing a client sends is
// logged.
// The auditor's view of the trail: search, export (JSON lines with hashes) and verification.
#include "portal/detail/query.hpp"
#include "portal/detail/shared.hpp"

namespace portal::detail {

using core::ErrorKind;
using store::Role;

namespace {

core::Result<store::AuditQuery> audit_query(const Call& call) {
  auto q = parse_query(call.req.target);
  if (!q) return core::fail(q.error());
  store::AuditQuery query;
  auto text = [&](std::string_view name) -> std::optional<std::string> {
    auto v = q->get(name);
    if (!v || v->empty()) return std::nullopt;
    return v;
  };
  query.actor = text("actor");
  query.action = text("action");
  query.object = text("object");
  auto range = range_params(*q);
  if (!range) return core::fail(range.error());
  query.time_from = range->from;
  query.time_to = range->to;
  query.after_seq = range->after;
  query.limit = range->limit;
  return query;
}

json audit_json(const store::AuditRow& row, bool hashes) {
  json j{{"seq", row.seq},        {"time", row.time},     {"actor", row.actor},
         {"action", row.action},  {"object", row.object}, {"source", row.source},
         {"outcome", row.outcome}};
  if (hashes) {
    j["prev_hash"] = row.prev_hash;
    j["hash"] = row.hash;
  }
  return j;
}

}  // namespace

Reply list_audit(Shared& s, Call& call) {
  auto query = audit_query(call);
  if (!query) return error_reply(Status::bad_request, query.error().public_text());
  if (auto st = s.audit(call, "audit.search", "audit", "ok"); !st) {
    return s.audit_refused(call, st.error());
  }
  const std::size_t limit = query->limit;
  query->limit = limit + 1;
  auto rows = s.store.audit().query_audit_blocking(*query);
  if (!rows) return s.store_error(call, rows.error());
  json next = take_page(*rows, limit, [](const auto& row) { return row.seq; });
  json items = json::array();
  for (const auto& row : *rows) items.push_back(audit_json(row, false));
  return json_reply(Status::ok, json{{"items", items}, {"next_after", next}});
}

Reply export_audit(Shared& s, Call& call) {
  auto query = audit_query(call);
  if (!query) return error_reply(Status::bad_request, query.error().public_text());
  if (auto st = s.audit(call, "audit.export", "audit", "ok"); !st) {
    return s.audit_refused(call, st.error());
  }
  std::string out;
  std::size_t total = 0;
  for (;;) {
    query->limit = 1000;
    auto rows = s.store.audit().query_audit_blocking(*query);
    if (!rows) return s.store_error(call, rows.error());
    for (const auto& row : *rows) {
      out += audit_json(row, true).dump();
      out += '\n';
    }
    total += rows->size();
    if (rows->size() < 1000 || total >= kMaxAuditExport) break;
    query->after_seq = rows->back().seq;
  }
  return Reply{
      .status = Status::ok, .body = std::move(out), .content_type = "application/x-ndjson"};
}

Reply verify_audit(Shared& s, Call& call) {
  auto report = audit::verify_audit_blocking(s.store, s.keys.server_public_armored);
  if (!report) return s.store_error(call, report.error());
  return json_reply(Status::ok,
                    json{{"intact", report->ok},
                         {"entries", report->entries},
                         {"checkpoints", report->checkpoints},
                         {"first_bad_entry", report->ok ? json(nullptr) : json(report->bad_seq)},
                         {"problem", report->reason}});
}

}  // namespace portal::detail
