// Trust: untrusted network input (requests to /api/); mail::api checks everything, this file
// only carries it. The request body may hold PHI (a message's text): it is wiped before its
// buffer is freed, and never logged.
#include "app/api_routes.hpp"

#include <spdlog/spdlog.h>

#include <functional>
#include <memory>

#include "core/log.hpp"
#include "core/secret.hpp"
#include "http/status.hpp"
#include "mail/api/limits.hpp"

namespace app {

namespace bhttp = boost::beast::http;

namespace {

unsigned status_of(const mail::api::Reply& reply) {
  using mail::api::Status;
  switch (reply.status) {
    case Status::created:
      return 201;
    case Status::accepted:
      return 202;
    case Status::ok:
      return 200;
    case Status::bad_request:
      return 400;
    case Status::unauthenticated:
      return 401;
    case Status::forbidden:
      return 403;
    case Status::not_found:
      return 404;
    case Status::too_large:
      return 413;
    case Status::unsupported_media:
      return 415;
    case Status::too_many_attempts:
      return 429;
    case Status::unavailable:
      return 503;
    case Status::failed:
      return http::status_for(reply.failure);
  }
  return 500;
}

mail::api::Call to_call(const http::Request& req, http::RequestContext& ctx) {
  return mail::api::Call{.authorization = req[bhttp::field::authorization],
                         .content_type = req[bhttp::field::content_type],
                         .body = req.body(),
                         .remote_address = std::move(ctx.remote_address),
                         .request_id = std::move(ctx.request_id)};
}

// Runs `work` on the pool with the request kept alive; 503 when the pool is full.
void on_pool(core::BlockingPool& pool, http::Request&& req, http::Responder responder,
             std::function<mail::api::Reply(const http::Request&)> work) {
  auto request = std::make_shared<http::Request>(std::move(req));
  bool queued = pool.post([request, responder, work = std::move(work)] {
    mail::api::Reply reply;
    try {
      reply = work(*request);
    } catch (const std::exception& e) {
      spdlog::error("event=api_exception detail={}", core::log_safe(e.what()));
      reply = mail::api::Reply{mail::api::Status::failed,
                               R"({"error":"internal","message":"An internal error occurred; )"
                               R"(nothing was kept."})"};
    }
    // The body may hold a message's text (PHI): wipe it before the buffer is freed.
    core::secure_wipe(request->body().data(), request->body().size());
    responder.send(to_response(std::move(reply)));
  });
  if (!queued) {
    mail::api::Reply busy{mail::api::Status::failed,
                          R"({"error":"unavailable","message":"The server is busy; nothing was )"
                          R"(kept. Try again in a moment."})"};
    busy.failure = core::ErrorKind::unavailable;
    responder.send(to_response(std::move(busy)));
  }
}

}  // namespace

http::Response to_response(mail::api::Reply reply) {
  http::Response r{static_cast<bhttp::status>(status_of(reply)), 11};
  r.set(bhttp::field::content_type, "application/json");
  r.set(bhttp::field::cache_control, "no-store");
  if (reply.status == mail::api::Status::unauthenticated) {
    r.set(bhttp::field::www_authenticate, "Bearer realm=\"sealpost\"");
  }
  if (reply.retry_after)
    r.set(bhttp::field::retry_after, std::to_string(reply.retry_after->count()));
  r.body() = std::move(reply.body);
  return r;
}

namespace {

using Call = mail::api::Call;
using Reply = mail::api::Reply;

// POST `path`: work(call) on the pool, bodies of at most `max_body` bytes.
void add_post(http::Router& router, const char* path, core::BlockingPool& pool,
              std::function<Reply(const Call&)> work, std::size_t max_body) {
  router.add(
      bhttp::verb::post, path,
      [&pool, work = std::move(work)](http::Request&& req, http::RequestContext&& ctx,
                                      http::Responder responder) {
        auto context = std::make_shared<http::RequestContext>(std::move(ctx));
        on_pool(pool, std::move(req), std::move(responder),
                [work, context](const http::Request& request) {
                  return work(to_call(request, *context));
                });
      },
      [max_body](const http::Params&) -> std::size_t { return max_body; });
}

// GET `path` (ending in {id}): work(call, id) on the pool. A GET carries no body.
void add_get_by_id(http::Router& router, const char* path, core::BlockingPool& pool,
                   std::function<Reply(const Call&, std::string_view)> work) {
  router.add(
      bhttp::verb::get, path,
      [&pool, work = std::move(work)](http::Request&& req, http::RequestContext&& ctx,
                                      http::Responder responder) {
        auto context = std::make_shared<http::RequestContext>(std::move(ctx));
        on_pool(pool, std::move(req), std::move(responder),
                [work, context](const http::Request& request) {
                  const std::string id = context->params.at("id");
                  return work(to_call(request, *context), id);
                });
      },
      [](const http::Params&) -> std::size_t { return 0; });
}

}  // namespace

void register_api_routes(http::Router& router, mail::api::MessagesApi& api,
                         core::BlockingPool& pool) {
  add_post(
      router, "/api/v1/messages", pool,
      [&api](const Call& call) { return api.send_blocking(call); }, mail::api::kMaxRequestBytes);
  add_get_by_id(
      router, "/api/v1/messages/{id}", pool,
      [&api](const Call& call, std::string_view id) { return api.show_blocking(call, id); });
}

void register_contact_routes(http::Router& router, campaigns::ContactsApi& api,
                             core::BlockingPool& pool) {
  add_post(
      router, "/api/v1/contacts", pool,
      [&api](const Call& call) { return api.upsert_blocking(call); },
      campaigns::kMaxContactRequestBytes);
  add_post(
      router, "/api/v1/contacts/revoke", pool,
      [&api](const Call& call) { return api.revoke_blocking(call); },
      campaigns::kMaxContactRequestBytes);
  add_get_by_id(
      router, "/api/v1/contacts/{id}", pool,
      [&api](const Call& call, std::string_view id) { return api.show_blocking(call, id); });
}

}  // namespace app
