// Trust: untrusted network input (the body, the id in the URL); parsed by campaigns/input.
// Field values may be PHI: they are sealed before they reach the store, wiped after, and
// never logged.
#include "campaigns/contacts_api.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>

#include "auth/api_key.hpp"
#include "campaigns/contacts.hpp"
#include "campaigns/input.hpp"
#include "campaigns/sender.hpp"
#include "core/encoding.hpp"
#include "core/log.hpp"
#include "core/secret.hpp"
#include "mail/queue/status.hpp"

namespace campaigns {

namespace {

using Json = nlohmann::json;
using mail::api::error_reply;
using mail::api::failure_reply;
using mail::api::Status;

constexpr std::string_view kUpsertAction = "contact.upsert";
constexpr std::string_view kRevokeAction = "authorisation.revoke";

std::string dump(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string actor_of(std::string_view key_id) { return "api:" + std::string(key_id); }

Reply refused(const RequestError& e) {
  return error_reply(e.too_large ? Status::too_large : Status::bad_request,
                     e.too_large ? "too_large" : "bad_request", e.message, e.field);
}

Reply not_json() {
  return error_reply(Status::unsupported_media, "unsupported_media_type",
                     "Send the request as application/json.");
}

bool is_contact_id(std::string_view id) {
  return id.size() == 32 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

Json time_or_null(std::optional<std::int64_t> t) {
  if (!t) return nullptr;
  return mail::queue::utc_time_text(*t);
}

}  // namespace

ContactsApi::ContactsApi(store::Store& store, audit::Auditor& auditor, mail::api::MessagesApi& keys,
                         const core::SecretBytes& contacts_key, core::Rng& rng,
                         const core::Clock& clock, std::vector<std::string> purposes)
    : store_(store),
      auditor_(auditor),
      keys_(keys),
      contacts_key_(contacts_key),
      rng_(rng),
      clock_(clock),
      purposes_(std::move(purposes)) {}

bool ContactsApi::known_purpose(std::string_view purpose) const {
  return std::find(purposes_.begin(), purposes_.end(), purpose) != purposes_.end();
}

Reply ContactsApi::upsert_blocking(const Call& call) {
  auto key_id = keys_.authenticate_for_blocking(call, auth::kScopeContactsWrite);
  if (!key_id) return std::move(key_id).error();
  if (!mail::api::is_json(call.content_type)) return not_json();
  auto request = parse_contact_request(call.body);
  if (!request) return refused(request.error());
  if (request->grant && !known_purpose(request->grant->purpose)) {
    return error_reply(Status::bad_request, "bad_request",
                       "The field \"purpose\" is not a purpose of this server.", "purpose");
  }
  // Sealed before the unit of work, wiped once sealed.
  std::vector<store::ContactField> sealed;
  for (auto& [name, value] : request->fields) {
    auto s = seal_field(contacts_key_, request->address, name, value, rng_);
    core::secure_wipe(value.data(), value.size());
    if (!s) return failure_reply(s.error(), call.request_id);
    sealed.push_back({name, std::move(*s)});
  }
  const std::int64_t now = core::unix_seconds(clock_.now());
  const std::string actor = actor_of(*key_id);
  std::string id;
  bool created = false;
  auto committed =
      store_.transact_blocking("upsert contact", [&](store::Store& tx) -> core::Status {
        auto found = tx.contacts().find_contact_by_address_blocking(request->address);
        if (!found) return core::fail(std::move(found).error());
        created = !*found;
        if (*found) {
          id = (*found)->id;
        } else {
          std::array<std::uint8_t, 16> bytes{};
          rng_.fill(bytes);
          id = core::to_hex(bytes);
          if (auto a = tx.contacts().add_contact_blocking({.id = id,
                                                           .address = request->address,
                                                           .created_at = now,
                                                           .updated_at = now,
                                                           .source = actor});
              !a) {
            return a;
          }
        }
        for (const auto& field : sealed) {
          if (auto f = tx.contacts().set_contact_field_blocking(id, field, now); !f) return f;
        }
        std::string object = fmt::format("contact:{} created:{} fields:{}", id,
                                         created ? "yes" : "no", sealed.size());
        if (const auto& g = request->grant) {
          std::array<std::uint8_t, 16> grant_id{};
          rng_.fill(grant_id);
          store::AuthorisationRecord a{
              .id = core::to_hex(grant_id),
              .contact_id = id,
              .purpose = g->purpose,
              .granted_at = now,
              .expires_at = g->expires_at,
              .scope = g->scope,
              .evidence = g->evidence.empty() ? actor : actor + " " + g->evidence,
              .consent_version = g->consent_version,
              .revoked_at = std::nullopt,
              .revoked_via = ""};
          if (auto s = tx.contacts().add_authorisation_blocking(a); !s) return s;
          object += " granted:" + g->purpose;
        }
        return auditor_.record_in_blocking(tx, actor, std::string(kUpsertAction), object,
                                           call.remote_address, "ok");
      });
  if (!committed) return failure_reply(committed.error(), call.request_id);
  if (auto s = auditor_.settle_blocking(); !s) {
    spdlog::error("event=audit_checkpoint_failed detail={}", core::log_safe(s.error().detail()));
  }
  spdlog::info("event=api_contact_upsert key={} contact={} created={} request_id={}", *key_id, id,
               created, call.request_id);
  return Reply{created ? Status::created : Status::ok,
               dump(Json{{"id", id}, {"created", created}})};
}

Reply ContactsApi::revoke_blocking(const Call& call) {
  auto key_id = keys_.authenticate_for_blocking(call, auth::kScopeContactsWrite);
  if (!key_id) return std::move(key_id).error();
  if (!mail::api::is_json(call.content_type)) return not_json();
  auto request = parse_revoke_request(call.body);
  if (!request) return refused(request.error());
  if (!known_purpose(request->purpose)) {
    return error_reply(Status::bad_request, "bad_request",
                       "The field \"purpose\" is not a purpose of this server.", "purpose");
  }
  const std::int64_t now = core::unix_seconds(clock_.now());
  const std::string actor = actor_of(*key_id);
  std::optional<std::size_t> revoked;
  auto committed =
      store_.transact_blocking("revoke authorisation", [&](store::Store& tx) -> core::Status {
        auto found = tx.contacts().find_contact_by_address_blocking(request->address);
        if (!found) return core::fail(std::move(found).error());
        if (!*found) return core::ok();  // nothing to revoke: 404, nothing written
        auto n = tx.contacts().revoke_authorisations_blocking((*found)->id, request->purpose, "api",
                                                              now);
        if (!n) return core::fail(std::move(n).error());
        revoked = *n;
        auto withdrawn = withdraw_queued_in(tx, (*found)->id, request->purpose, now);
        if (!withdrawn) return core::fail(std::move(withdrawn).error());
        return auditor_.record_in_blocking(
            tx, actor, std::string(kRevokeAction),
            fmt::format("contact:{} purpose:{} via:api revoked:{} withdrawn:{}", (*found)->id,
                        request->purpose, *n, *withdrawn),
            call.remote_address, "ok");
      });
  if (!committed) return failure_reply(committed.error(), call.request_id);
  if (!revoked) return error_reply(Status::not_found, "not_found", "There is no such contact.");
  if (auto s = auditor_.settle_blocking(); !s) {
    spdlog::error("event=audit_checkpoint_failed detail={}", core::log_safe(s.error().detail()));
  }
  return Reply{Status::ok, dump(Json{{"revoked", *revoked}})};  // (withdrawn: in the trail)
}

Reply ContactsApi::show_blocking(const Call& call, std::string_view id) {
  auto key_id = keys_.authenticate_for_blocking(call, auth::kScopeContactsRead);
  if (!key_id) return std::move(key_id).error();
  const Reply not_found = error_reply(Status::not_found, "not_found", "There is no such contact.");
  if (!is_contact_id(id)) return not_found;
  auto contact = store_.contacts().find_contact_blocking(std::string(id));
  if (!contact) return failure_reply(contact.error(), call.request_id);
  if (!*contact) return not_found;
  auto names = store_.contacts().field_names_blocking((*contact)->id);
  if (!names) return failure_reply(names.error(), call.request_id);
  auto auths = store_.contacts().list_authorisations_blocking((*contact)->id);
  if (!auths) return failure_reply(auths.error(), call.request_id);
  Json list = Json::array();
  for (const auto& a : *auths) {
    list.push_back({{"purpose", a.purpose},
                    {"granted_at", time_or_null(a.granted_at)},
                    {"expires_at", time_or_null(a.expires_at)},
                    {"scope", a.scope},
                    {"evidence", a.evidence},
                    {"consent_version", a.consent_version},
                    {"revoked_at", time_or_null(a.revoked_at)},
                    {"revoked_via", a.revoked_at ? Json(a.revoked_via) : Json(nullptr)}});
  }
  return Reply{Status::ok, dump(Json{{"id", (*contact)->id},
                                     {"email", (*contact)->address},
                                     {"created_at", time_or_null((*contact)->created_at)},
                                     {"updated_at", time_or_null((*contact)->updated_at)},
                                     {"source", (*contact)->source},
                                     {"fields", *names},
                                     {"authorisations", std::move(list)}})};
}

}  // namespace campaigns
