// Trust: untrusted network input (form posts, URLs); intake/ checks everything, this file
// only carries it and answers with pages of our own.
#include "app/form_routes.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <memory>

#include "app/data_dir.hpp"
#include "app/files.hpp"
#include "campaigns/unsubscribe.hpp"
#include "core/log.hpp"
#include "http/status.hpp"

namespace app {

namespace bhttp = boost::beast::http;

namespace {

http::Response html(unsigned status, intake::Page page) {
  http::Response r{static_cast<bhttp::status>(status), 11};
  r.set(bhttp::field::content_type, "text/html; charset=utf-8");
  r.set("Content-Security-Policy", page.csp);
  r.body() = std::move(page.body);
  return r;
}

struct StatusText {
  unsigned status;
  std::string_view title;
  std::string_view message;
};
constexpr StatusText kStatusTexts[] = {
    {400, "Bad request", "The request could not be understood."},
    {403, "Forbidden", "Requests from your network are not accepted here."},
    {404, "Not found", "There is no page at this address."},
    {405, "Method not allowed", "This page does not accept that kind of request."},
    {409, "Already sent",
     "This form has already been sent. If you want to send another response, open the form "
     "again."},
    {413, "Too large", "What was sent is larger than this form accepts."},
    {415, "Unsupported", "This kind of upload is not supported by this form."},
    {429, "Too many requests",
     "Too many submissions came from your connection. Please wait a "
     "minute and try again."},
    {431, "Request headers too large", "The request headers are larger than we accept."},
    {500, "Something went wrong", "An internal error occurred. Nothing you sent was stored."},
    {503, "Temporarily unavailable",
     "We could not store your submission just now, and nothing was kept. Please go back and "
     "send it again in a moment."},
};

// The status of a post's outcome (other than stored).
unsigned status_of(const intake::PostOutcome& outcome) {
  using Kind = intake::PostOutcome::Kind;
  switch (outcome.kind) {
    case Kind::stored:
      return 303;
    case Kind::unknown_form:
      return 404;
    case Kind::form_unavailable:
    case Kind::overloaded:
      return 503;
    case Kind::rate_limited:
      return 429;
    case Kind::unsupported_type:
      return 415;
    case Kind::malformed:
    case Kind::not_verified:
      return 400;
    case Kind::resubmit:
      return 422;
    case Kind::replay:
      return 409;
    case Kind::not_encrypted:
      return 500;
    case Kind::not_stored:
      return http::status_for(outcome.failure);
  }
  return 500;
}

// F14: the thank-you page's address says what became of the copy the submitter asked for
// (it is their own page: a hand-edited query changes only what they are shown).
constexpr std::string_view kCopySent = "?copy=sent";
constexpr std::string_view kCopyNotSent = "?copy=not-sent";

forms::CopyNote copy_note_of(std::string_view target) {
  const auto query = target.find('?');
  if (query == std::string_view::npos) return forms::CopyNote::none;
  const auto tail = target.substr(query);
  if (tail == kCopySent) return forms::CopyNote::on_its_way;
  if (tail == kCopyNotSent) return forms::CopyNote::not_sent;
  return forms::CopyNote::none;
}

http::Response see_other(const std::string& location) {
  http::Response r{bhttp::status::see_other, 11};
  r.set(bhttp::field::location, location);
  r.set(bhttp::field::content_type, "text/plain; charset=utf-8");
  return r;
}

}  // namespace

http::Response status_page(unsigned status, std::string_view request_id, core::Rng& rng) {
  for (const auto& s : kStatusTexts) {
    if (s.status == status) {
      std::string message(s.message);
      if (status >= 500 && !request_id.empty()) {
        message += fmt::format(" (Request {}.)", request_id);
      }
      return html(status, intake::message_page(s.title, message, rng));
    }
  }
  return html(status, intake::message_page("Error", "The request could not be completed.", rng));
}

void register_form_routes(http::Router& router, intake::Intake& intake, core::BlockingPool& pool,
                          core::Rng& rng, std::string file_drop_dir,
                          PostOutcomeObserver on_post_outcome, StoredObserver on_stored) {
  router.add(bhttp::verb::get, "/f/{form}",
             [&intake, &rng](http::Request&&, http::RequestContext&& ctx, http::Responder r) {
               auto outcome = intake.form(ctx.params.at("form"));
               using Kind = intake::FormOutcome::Kind;
               switch (outcome.kind) {
                 case Kind::unknown_form:
                   return r.send(status_page(404, ctx.request_id, rng));
                 case Kind::form_unavailable:
                   return r.send(html(503, std::move(outcome.page)));
                 case Kind::ok:
                   return r.send(html(200, std::move(outcome.page)));
               }
             });

  auto drop_dir = std::make_shared<const std::string>(std::move(file_drop_dir));
  router.add(
      bhttp::verb::post, "/f/{form}",
      [&intake, &pool, &rng, drop_dir, on_post_outcome, on_stored](
          http::Request&& req, http::RequestContext&& ctx, http::Responder responder) {
        intake::Post post{.form_id = ctx.params.at("form"),
                          .content_type = req[bhttp::field::content_type],
                          .body = req.body(),
                          .remote_address = ctx.remote_address,
                          .request_id = ctx.request_id};
        intake.post(post, [&pool, &rng, drop_dir, responder, on_post_outcome, on_stored,
                           request_id = ctx.request_id,
                           form_id = post.form_id](intake::PostOutcome outcome) {
          using Kind = intake::PostOutcome::Kind;
          if (on_post_outcome) on_post_outcome(outcome.kind);
          if (outcome.kind == Kind::not_verified || outcome.kind == Kind::resubmit) {
            return responder.send(html(status_of(outcome), std::move(outcome.page)));
          }
          if (outcome.kind != Kind::stored) {
            return responder.send(status_page(status_of(outcome), request_id, rng));
          }
          const bool copy_taken =
              on_stored &&
              on_stored(form_id, outcome.reference, outcome.submitter_copy, outcome.notify_text);
          outcome.submitter_copy.reset();  // the observer holds them while it needs them
          outcome.notify_text.reset();
          if (outcome.copy_requested) {
            outcome.location += copy_taken ? kCopySent : kCopyNotSent;
          }
          if (!outcome.drop_copy) return responder.send(see_other(outcome.location));
          // The drop is a copy for pickup: the store is the record. A failed drop write is
          // logged (and `sealpost export` recreates it); the submission stays acknowledged.
          auto location = outcome.location;
          bool queued =
              pool.post([drop_dir, &rng, responder, form_id, outcome = std::move(outcome)] {
                auto path = DataDir::export_file(*drop_dir, outcome.reference);
                std::string_view bytes(reinterpret_cast<const char*>(outcome.drop_copy->data()),
                                       outcome.drop_copy->size());
                try {
                  if (auto s = write_file(path, bytes, 0600, true, rng); !s) {
                    spdlog::error("event=file_drop_failed form={} detail={}", form_id,
                                  core::log_safe(s.error().public_text()));
                  }
                } catch (const std::exception& e) {
                  spdlog::error("event=file_drop_failed form={} detail={}", form_id,
                                core::log_safe(e.what()));
                }
                // Stored durably: the submitter is told, whatever the drop did.
                responder.send(see_other(outcome.location));
              });
          if (!queued) {
            spdlog::error("event=file_drop_failed form={} detail=pool_full", form_id);
            responder.send(see_other(location));
          }
        });
      },
      [&intake](const http::Params& params) -> std::size_t {
        auto it = params.find("form");
        return intake.body_limit(it != params.end() ? it->second : std::string_view{});
      });

  router.add(
      bhttp::verb::get, "/f/{form}/thanks/{ref}",
      [&intake, &rng](http::Request&& req, http::RequestContext&& ctx, http::Responder r) {
        auto request_id = ctx.request_id;
        const auto note = copy_note_of(std::string_view(req.target()));
        intake.thanks(
            ctx.params.at("form"), ctx.params.at("ref"), ctx.request_id,
            [r, request_id, &rng](intake::ThanksOutcome outcome) {
              using Kind = intake::ThanksOutcome::Kind;
              switch (outcome.kind) {
                case Kind::ok:
                  return r.send(html(200, std::move(outcome.page)));
                case Kind::not_found:
                  return r.send(status_page(404, request_id, rng));
                case Kind::failed:
                  return r.send(status_page(http::status_for(outcome.failure), request_id, rng));
                case Kind::overloaded:
                  return r.send(status_page(503, request_id, rng));
              }
            },
            note);
      });
}

void register_unsubscribe_routes(http::Router& router, store::Store& store, audit::Auditor& auditor,
                                 const core::SecretBytes& contacts_key, const core::Clock& clock,
                                 core::BlockingPool& pool, core::Rng& rng) {
  router.add(bhttp::verb::get, "/u/{token}",
             [&contacts_key, &rng](http::Request&&, http::RequestContext&& ctx, http::Responder r) {
               const std::string& token = ctx.params.at("token");
               auto target = campaigns::read_unsubscribe_token(contacts_key, token);
               if (!target) return r.send(status_page(404, ctx.request_id, rng));
               // Only a page: mail scanners follow links, and a GET must change nothing.
               r.send(html(200, intake::action_page(
                                    "Unsubscribe",
                                    fmt::format("Stop receiving {} e-mail from us at this address? "
                                                "One click, nothing else to fill in.",
                                                target->purpose),
                                    "/u/" + token, "Unsubscribe", rng)));
             });
  router.add(
      bhttp::verb::post, "/u/{token}",
      [&store, &auditor, &contacts_key, &clock, &pool, &rng](
          http::Request&&, http::RequestContext&& ctx, http::Responder r) {
        auto target = campaigns::read_unsubscribe_token(contacts_key, ctx.params.at("token"));
        if (!target) return r.send(status_page(404, ctx.request_id, rng));
        auto context = std::make_shared<http::RequestContext>(std::move(ctx));
        auto work = [&store, &auditor, &clock, &rng, r, context, target = *target]() mutable {
          auto revoked = campaigns::unsubscribe_blocking(
              store, auditor, target, context->remote_address, core::unix_seconds(clock.now()));
          if (!revoked) {
            spdlog::error("event=unsubscribe_failed request_id={} detail={}", context->request_id,
                          core::log_safe(revoked.error().detail()));
            return r.send(html(
                http::status_for(revoked.error().kind()),
                intake::message_page("Not done",
                                     fmt::format("We could not record this just now; nothing "
                                                 "changed. Please try again in a moment. (Request "
                                                 "{}.)",
                                                 context->request_id),
                                     rng)));
          }
          spdlog::info("event=unsubscribed contact={} purpose={} revoked={}", target.contact_id,
                       target.purpose, *revoked);
          r.send(html(
              200, intake::action_page("Unsubscribed",
                                       fmt::format("You will get no more {} e-mail from us at this "
                                                   "address.",
                                                   target.purpose),
                                       "", "", rng)));
        };
        if (!pool.post(std::move(work))) {
          r.send(status_page(503, "", rng));
        }
      },
      // RFC 8058's body is "List-Unsubscribe=One-Click"; the token alone decides.
      [](const http::Params&) -> std::size_t { return 1024; });
}

}  // namespace app
