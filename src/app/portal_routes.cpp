// Trust: untrusted network input (requests to /portal/); the portal checks everything, this
// file only carries it. The request body may hold a password or a key: it is wiped before its
// buffer is freed.
#include "app/portal_routes.hpp"

#include <spdlog/spdlog.h>

#include <ctime>
#include <memory>
#include <optional>
#include <string>

#include "auth/lockout.hpp"
#include "core/log.hpp"
#include "core/rate_limiter.hpp"
#include "core/secret.hpp"
#include "http/status.hpp"
#include "portal/limits.hpp"
#include "portal_assets/portal_assets.hpp"

namespace app {

namespace bhttp = boost::beast::http;

namespace {

constexpr std::string_view kPortalCsp =
    "default-src 'none'; script-src 'self'; worker-src 'self'; connect-src 'self'; "
    "img-src 'self'; style-src 'self'; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'";

std::string http_date() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

unsigned status_of(const portal::Reply& reply) {
  using portal::Status;
  switch (reply.status) {
    case Status::ok:
      return 200;
    case Status::no_content:
      return 204;
    case Status::bad_request:
      return 400;
    case Status::unauthenticated:
      return 401;
    case Status::forbidden:
      return 403;
    case Status::not_found:
      return 404;
    case Status::conflict:
      return 409;
    case Status::unsupported_media_type:
      return 415;
    case Status::unprocessable:
      return 422;
    case Status::too_many_attempts:
      return 429;
    case Status::gone:
      return 410;
    case Status::failed:
      return http::status_for(reply.failure);
  }
  return 500;
}

portal::Request to_portal_request(const http::Request& req, http::RequestContext&& ctx) {
  portal::Request out;
  out.method = req.method() == bhttp::verb::get ? portal::Method::get : portal::Method::post;
  out.target = std::string(req.target());
  out.body = req.body();
  out.cookie = std::string(req[bhttp::field::cookie]);
  out.origin = std::string(req[bhttp::field::origin]);
  out.content_type = std::string(req[bhttp::field::content_type]);
  out.csrf_token = std::string(req["X-CSRF-Token"]);
  out.remote_address = std::move(ctx.remote_address);
  out.request_id = std::move(ctx.request_id);
  out.params = std::move(ctx.params);
  return out;
}

http::Response page_response(std::string_view name) {
  auto page = portal_assets::page(name);
  http::Response r{bhttp::status::ok, 11};
  r.set(bhttp::field::content_type, "text/html; charset=utf-8");
  r.set("Content-Security-Policy", kPortalCsp);
  r.body() = std::string(page->body);
  return r;
}

// What a client whose credential checks are over budget is told to wait.
constexpr std::chrono::seconds kCredentialWait{2};

// The budget all nodes share: over it, the same answer as this node's own; the database
// unable to answer, 503 (fail closed: the check itself needs the database too).
// Returns the refusal, nullopt when the check may run.
std::optional<portal::Reply> refused_by_shared_budget(store::SharedBudget& budget,
                                                      const std::string& address) {
  auto allowed = budget.take_blocking(address);
  if (!allowed) {
    spdlog::error("event=rate_limit_failed detail={}", core::log_safe(allowed.error().detail()));
    auto reply = portal::error_reply(portal::Status::failed,
                                     "The server cannot check this now. Please try again.");
    reply.failure = core::ErrorKind::unavailable;
    return reply;
  }
  if (!*allowed) return portal::delayed(kCredentialWait);
  return std::nullopt;
}

}  // namespace

http::Response to_response(portal::Reply reply) {
  http::Response r{static_cast<bhttp::status>(status_of(reply)), 11};
  if (!reply.content_type.empty()) r.set(bhttp::field::content_type, reply.content_type);
  if (reply.set_cookie) r.set(bhttp::field::set_cookie, *reply.set_cookie);
  if (reply.retry_after)
    r.set(bhttp::field::retry_after, std::to_string(reply.retry_after->count()));
  // The browser compares its clock with ours (a skewed clock makes fresh signatures look
  // like they come from the future).
  r.set(bhttp::field::date, http_date());
  r.body() = std::move(reply.body);
  return r;
}

void register_portal_routes(http::Router& router, portal::Portal& portal, core::BlockingPool& pool,
                            const core::Clock& clock, store::SharedBudget* shared_checks) {
  auto credential_attempts = std::make_shared<core::RateLimiter>(
      clock, portal::kCredentialChecksPerMinute, portal::kCredentialChecksBurst);
  for (const auto& route : portal.routes()) {
    const auto verb = route.method == portal::Method::get ? bhttp::verb::get : bhttp::verb::post;
    router.add(
        verb, route.pattern,
        [&portal, &pool, route, credential_attempts, shared_checks](
            http::Request&& req, http::RequestContext&& ctx, http::Responder responder) {
          const std::string address = auth::address_key(ctx.remote_address);
          if (route.credential_check && !credential_attempts->allow(address)) {
            return responder.send(to_response(portal::delayed(kCredentialWait)));
          }
          auto request = std::make_shared<http::Request>(std::move(req));
          auto input =
              std::make_shared<portal::Request>(to_portal_request(*request, std::move(ctx)));
          const bool shared = route.credential_check && shared_checks != nullptr;
          bool queued = pool.post(
              [&portal, route, request, input, responder, shared_checks, shared, address] {
                portal::Reply reply;
                try {
                  auto refusal =
                      shared ? refused_by_shared_budget(*shared_checks, address) : std::nullopt;
                  reply = refusal ? std::move(*refusal) : portal.handle_blocking(route, *input);
                } catch (const std::exception& e) {
                  spdlog::error("event=portal_exception request_id={} detail={}", input->request_id,
                                core::log_safe(e.what()));
                  reply = portal::error_reply(portal::Status::failed,
                                              "Something went wrong on the server.");
                  reply.failure = core::ErrorKind::internal;
                }
                // The body may hold a password or a key: wipe it before the buffer is freed.
                core::secure_wipe(request->body().data(), request->body().size());
                responder.send(to_response(std::move(reply)));
              });
          if (!queued) {
            auto busy = portal::error_reply(portal::Status::failed,
                                            "The server is busy. Please try again.");
            busy.failure = core::ErrorKind::unavailable;
            responder.send(to_response(std::move(busy)));
          }
        },
        [](const http::Params&) -> std::size_t { return portal::kMaxJsonBody; });
  }

  // Pages and their scripts: static, embedded, no secrets; served without a session.
  using bhttp::verb;
  auto page = [&](std::string_view path, std::string name) {
    router.add(verb::get, path,
               [name](http::Request&&, http::RequestContext&&, http::Responder responder) {
                 responder.send(page_response(name));
               });
  };
  page("/portal", "app");
  page("/portal/", "app");
  page("/portal/sign-in", "sign-in");
  page("/portal/enrol", "enrol");
  // The secure-message portal's page (issue 9): the key is in the fragment, which the
  // browser never sends; the page reads it and asks /api/s/{id}/ for the rest.
  page("/s/{id}", "secure-message");
  router.add(verb::get, "/portal/static/{file}",
             [](http::Request&&, http::RequestContext&& ctx, http::Responder responder) {
               auto file = portal_assets::static_file(ctx.params.at("file"));
               if (!file) {
                 return responder.send(
                     to_response(portal::error_reply(portal::Status::not_found, "Not found.")));
               }
               http::Response r{bhttp::status::ok, 11};
               r.set(bhttp::field::content_type, file->content_type);
               // A worker takes its CSP from its own script's response.
               r.set("Content-Security-Policy", kPortalCsp);
               r.body() = std::string(file->body);
               responder.send(std::move(r));
             });
}

}  // namespace app
