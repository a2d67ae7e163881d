// Trust: untrusted network input (requests to /api/); mail::api checks everything, this file
// only carries it. The request body may hold PHI (a message's text): it is wiped before its
// buffer is freed, and never logged.
#include "app/api_routes.hpp"

#include <spdlog/spdlog.h>

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

void register_api_routes(http::Router& router, mail::api::MessagesApi& api,
                         core::BlockingPool& pool) {
  router.add(
      bhttp::verb::post, "/api/v1/messages",
      [&api, &pool](http::Request&& req, http::RequestContext&& ctx, http::Responder responder) {
        auto context = std::make_shared<http::RequestContext>(std::move(ctx));
        on_pool(pool, std::move(req), std::move(responder),
                [&api, context](const http::Request& request) {
                  return api.send_blocking(to_call(request, *context));
                });
      },
      [](const http::Params&) -> std::size_t { return mail::api::kMaxRequestBytes; });

  router.add(
      bhttp::verb::get, "/api/v1/messages/{id}",
      [&api, &pool](http::Request&& req, http::RequestContext&& ctx, http::Responder responder) {
        auto context = std::make_shared<http::RequestContext>(std::move(ctx));
        on_pool(pool, std::move(req), std::move(responder),
                [&api, context](const http::Request& request) {
                  const std::string id = context->params.at("id");
                  return api.show_blocking(to_call(request, *context), id);
                });
      },
      // A GET carries no body.
      [](const http::Params&) -> std::size_t { return 0; });
}

void register_contact_routes(http::Router& router, campaigns::ContactsApi& api,
                             core::BlockingPool& pool) {
  using Work = mail::api::Reply (campaigns::ContactsApi::*)(const mail::api::Call&);
  for (auto [path, work] :
       {std::pair<const char*, Work>{"/api/v1/contacts", &campaigns::ContactsApi::upsert_blocking},
        std::pair<const char*, Work>{"/api/v1/contacts/revoke",
                                     &campaigns::ContactsApi::revoke_blocking}}) {
    router.add(
        bhttp::verb::post, path,
        [&api, &pool, work](http::Request&& req, http::RequestContext&& ctx,
                            http::Responder responder) {
          auto context = std::make_shared<http::RequestContext>(std::move(ctx));
          on_pool(pool, std::move(req), std::move(responder),
                  [&api, work, context](const http::Request& request) {
                    return (api.*work)(to_call(request, *context));
                  });
        },
        [](const http::Params&) -> std::size_t { return campaigns::kMaxContactRequestBytes; });
  }
  router.add(
      bhttp::verb::get, "/api/v1/contacts/{id}",
      [&api, &pool](http::Request&& req, http::RequestContext&& ctx, http::Responder responder) {
        auto context = std::make_shared<http::RequestContext>(std::move(ctx));
        on_pool(pool, std::move(req), std::move(responder),
                [&api, context](const http::Request& request) {
                  const std::string id = context->params.at("id");
                  return api.show_blocking(to_call(request, *context), id);
                });
      },
      [](const http::Params&) -> std::size_t { return 0; });
}

}  // namespace app
