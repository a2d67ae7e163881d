// Trust: untrusted network input (form posts); every value is parsed and validated by
// forms/ before anything else sees it, and only ciphertext leaves this file for the store.
#include "app/form_service.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/ip/address.hpp>
#include <ctime>

#include "app/data_dir.hpp"
#include "app/files.hpp"
#include "app/recipients.hpp"
#include "app/reference.hpp"
#include "core/encoding.hpp"
#include "core/log.hpp"
#include "forms/render.hpp"
#include "forms/token.hpp"
#include "forms/urlencoded.hpp"
#include "forms/validation.hpp"

namespace app {

namespace bhttp = boost::beast::http;
using core::ErrorKind;

struct FormService::Shared {
  const Config& config;
  store::Store& store;
  core::BlockingPool& pool;
  const core::Clock& clock;
  core::SecretBytes token_key;
  http::RateLimiter per_ip;
  http::RateLimiter per_form;
  mutable std::mutex catalog_mutex;
  std::shared_ptr<const Catalog> catalog;

  Shared(const Config& c, store::Store& s, core::BlockingPool& p, const core::Clock& clk,
         core::SecretBytes key)
      : config(c),
        store(s),
        pool(p),
        clock(clk),
        token_key(std::move(key)),
        per_ip(clk, c.per_ip_per_minute, c.per_ip_burst),
        per_form(clk, c.per_form_per_minute, c.per_form_burst) {}

  std::shared_ptr<const Catalog> snapshot() const {
    std::lock_guard lock(catalog_mutex);
    return catalog;
  }
};

namespace {

std::string random_token(std::size_t bytes) {
  std::vector<std::uint8_t> b(bytes);
  core::SystemRng().fill(b);
  return core::base64url_encode(b);
}

// The per-client rate-limit key: an IPv4 address as is (IPv4-mapped IPv6 unmapped), an
// IPv6 address by its /64, since one client commonly holds a whole /64 and could otherwise
// start afresh with every address.
std::string rate_limit_key(const std::string& remote) {
  boost::system::error_code ec;
  auto address = boost::asio::ip::make_address(remote, ec);
  if (ec) return remote;
  if (address.is_v6()) {
    auto v6 = address.to_v6();
    if (v6.is_v4_mapped()) {
      return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).to_string();
    }
    auto bytes = v6.to_bytes();
    std::fill(bytes.begin() + 8, bytes.end(), 0);
    return boost::asio::ip::address_v6(bytes).to_string() + "/64";
  }
  return address.to_string();
}

std::string iso_date(core::TimePoint t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

std::string frame_ancestors(const forms::FormDeclaration& form) {
  if (form.frame_ancestors.empty()) return "'none'";
  std::string out;
  for (const auto& origin : form.frame_ancestors) {
    if (!out.empty()) out += ' ';
    out += origin;
  }
  return out;
}

std::string page_csp(std::string_view nonce, std::string_view ancestors) {
  return fmt::format(
      "default-src 'none'; style-src 'nonce-{}'; img-src 'self'; form-action 'self'; "
      "base-uri 'none'; frame-ancestors {}",
      nonce, ancestors);
}

http::Response html(unsigned status, std::string body, std::string_view csp) {
  http::Response r{static_cast<bhttp::status>(status), 11};
  r.set(bhttp::field::content_type, "text/html; charset=utf-8");
  r.set("Content-Security-Policy", csp);
  r.body() = std::move(body);
  return r;
}

http::Response message_page(unsigned status, std::string_view title, std::string_view message) {
  auto nonce = random_token(16);
  return html(status, forms::render_message_page(title, message, nonce), page_csp(nonce, "'none'"));
}

struct StatusText {
  unsigned status;
  std::string_view title;
  std::string_view message;
};
constexpr StatusText kStatusTexts[] = {
    {400, "Bad request", "The request could not be understood."},
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

http::Response status_page(unsigned status, std::string_view request_id) {
  for (const auto& s : kStatusTexts) {
    if (s.status == status) {
      std::string message(s.message);
      if (status >= 500 && !request_id.empty()) {
        message += fmt::format(" (Request {}.)", request_id);
      }
      return message_page(status, s.title, message);
    }
  }
  return message_page(status, "Error", "The request could not be completed.");
}

const LoadedForm* find_form(const Catalog& catalog, std::string_view id) {
  auto it = catalog.forms.find(id);
  if (it == catalog.forms.end() || !it->second.enabled) return nullptr;
  return &it->second;
}

// Placeholders unique to this process, so no declaration text can contain them by chance.
const std::string& placeholder(CachedPage::Piece::Slot slot) {
  using Slot = CachedPage::Piece::Slot;
  static const std::string token = "sealpost" + random_token(24) + "token";
  static const std::string nonce = "sealpost" + random_token(24) + "nonce";
  static const std::string reference = "sealpost" + random_token(24) + "reference";
  return slot == Slot::token ? token : slot == Slot::nonce ? nonce : reference;
}

CachedPage split_page(const std::string& page) {
  using Slot = CachedPage::Piece::Slot;
  CachedPage cached;
  std::size_t pos = 0;
  for (;;) {
    std::size_t next = std::string::npos;
    Slot slot = Slot::none;
    for (Slot candidate : {Slot::token, Slot::nonce, Slot::reference}) {
      auto at = page.find(placeholder(candidate), pos);
      if (at < next) {
        next = at;
        slot = candidate;
      }
    }
    if (next == std::string::npos) {
      cached.pieces.push_back({page.substr(pos), Slot::none});
      break;
    }
    cached.pieces.push_back({page.substr(pos, next - pos), slot});
    pos = next + placeholder(slot).size();
  }
  for (const auto& piece : cached.pieces) cached.literal_bytes += piece.literal.size();
  return cached;
}

std::string fill_page(const CachedPage& page, std::string_view token, std::string_view nonce,
                      std::string_view reference) {
  using Slot = CachedPage::Piece::Slot;
  std::string body;
  body.reserve(page.literal_bytes + 256);
  for (const auto& piece : page.pieces) {
    body += piece.literal;
    if (piece.slot == Slot::token) body += token;
    if (piece.slot == Slot::nonce) body += nonce;
    if (piece.slot == Slot::reference) body += reference;
  }
  return body;
}

void cache_pages(LoadedForm& form) {
  using Slot = CachedPage::Piece::Slot;
  forms::RenderContext ctx;
  ctx.action = "/f/" + form.declaration.id;
  ctx.token = placeholder(Slot::token);
  ctx.csp_nonce = placeholder(Slot::nonce);
  form.blank_page = split_page(forms::render_form(form.declaration, ctx));
  form.thanks_page = split_page(forms::render_thanks(form.declaration, placeholder(Slot::reference),
                                                     placeholder(Slot::nonce)));
}

}  // namespace

core::Result<std::shared_ptr<const Catalog>> load_catalog_blocking(
    store::Store& store, const Config& config, const core::SecretBytes& signing_key,
    core::TimePoint now, std::size_t encryptor_contexts) {
  auto generation = store.forms().config_generation_blocking();
  if (!generation) return core::fail(generation.error());
  auto keys = store.forms().list_keys_blocking();
  if (!keys) return core::fail(keys.error());
  auto latest = store.forms().latest_forms_blocking();
  if (!latest) return core::fail(latest.error());

  auto catalog = std::make_shared<Catalog>();
  catalog->generation = *generation;
  KeyInfos key_info;
  std::vector<std::string> armored;
  for (const auto& k : *keys) {
    auto info = stored_key_info(k, now);
    if (!info) {
      spdlog::error("event=stored_key_unreadable fingerprint={}", k.fingerprint);
      continue;
    }
    key_info.emplace(k.fingerprint, std::move(*info));
    armored.push_back(k.armored);
  }
  auto usable = [&](const std::string& fpr) { return check_recipient_key(key_info, fpr, now); };

  // The catalog must be rebuilt when the first key in use stops being able to encrypt
  // (its own expiry or its encryption subkey's), so its forms turn unavailable.
  auto note_expiry = [&](const std::string& fpr) {
    if (auto until = key_info.at(fpr).encrypt_until) {
      if (!catalog->next_key_expiry || *until < *catalog->next_key_expiry) {
        catalog->next_key_expiry = *until;
      }
    }
  };

  // A recovery key that is misconfigured (bad fingerprint, not imported) stops the server;
  // one that expires or is revoked later makes every form unavailable until it is renewed,
  // since submissions must stay recoverable (S9).
  std::optional<crypto::Fingerprint> recovery;
  std::string recovery_problem;
  if (!config.recovery_key_fingerprint.empty()) {
    auto fpr = crypto::Fingerprint::parse(config.recovery_key_fingerprint);
    if (!fpr) {
      return core::fail(ErrorKind::invalid_input,
                        "[recovery] key_fingerprint: " + fpr.error().public_text());
    }
    if (!key_info.contains(fpr->hex())) {
      return core::fail(ErrorKind::invalid_input,
                        "[recovery] key_fingerprint: key " + fpr->hex() + " is not imported");
    }
    if (auto s = usable(fpr->hex()); !s) {
      recovery_problem = "recovery " + s.error().public_text();
    } else {
      note_expiry(fpr->hex());
    }
    recovery = *fpr;
  }

  for (const auto& fv : *latest) {
    auto decl = forms::parse_declaration(fv.declaration);
    if (!decl) {
      spdlog::error("event=stored_form_invalid form={} version={} error={}", fv.form_id, fv.version,
                    core::log_safe(decl.error().public_text()));
      continue;
    }
    LoadedForm form;
    form.version = fv.version;
    form.enabled = fv.enabled;
    form.unavailable_reason = recovery_problem;
    for (const auto& r : decl->recipients) {
      if (!form.unavailable_reason.empty()) break;
      auto fpr = crypto::Fingerprint::parse(r);
      if (!fpr) {
        form.unavailable_reason = fpr.error().public_text();
        break;
      }
      if (auto s = usable(fpr->hex()); !s) {
        form.unavailable_reason = s.error().public_text();
        break;
      }
      form.recipients.push_back(*fpr);
      note_expiry(fpr->hex());
    }
    // Staff granted the form in the portal (P4). A granted key that can no longer encrypt
    // is left out (logged) rather than taking the form down: the declaration's own
    // recipients and the recovery key still receive everything.
    for (const auto& r : fv.granted_recipients) {
      if (!form.unavailable_reason.empty()) break;
      auto fpr = crypto::Fingerprint::parse(r);
      if (!fpr || !key_info.contains(fpr->hex())) {
        spdlog::error("event=granted_key_missing form={}", fv.form_id);
        continue;
      }
      if (auto s = usable(fpr->hex()); !s) {
        spdlog::error("event=granted_key_unusable form={} fingerprint={}", fv.form_id, fpr->hex());
        continue;
      }
      if (std::find(form.recipients.begin(), form.recipients.end(), *fpr) ==
          form.recipients.end()) {
        form.recipients.push_back(*fpr);
        note_expiry(fpr->hex());
      }
    }
    if (recovery && std::find(form.recipients.begin(), form.recipients.end(), *recovery) ==
                        form.recipients.end()) {
      form.recipients.push_back(*recovery);
    }
    if (!form.unavailable_reason.empty()) {
      spdlog::error("event=form_unavailable form={} reason={}", fv.form_id,
                    core::log_safe(form.unavailable_reason));
    }
    form.declaration = std::move(*decl);
    cache_pages(form);
    catalog->forms.emplace(fv.form_id, std::move(form));
  }

  auto encryptor = crypto::RnpEncryptor::create(armored, signing_key, encryptor_contexts);
  if (!encryptor) return core::fail(encryptor.error());
  catalog->encryptor = std::move(*encryptor);
  return std::shared_ptr<const Catalog>(std::move(catalog));
}

FormService::FormService(const Config& config, store::Store& store, core::BlockingPool& pool,
                         const core::Clock& clock, core::SecretBytes token_key)
    : shared_(std::make_shared<Shared>(config, store, pool, clock, std::move(token_key))) {}

void FormService::set_catalog(std::shared_ptr<const Catalog> catalog) {
  std::lock_guard lock(shared_->catalog_mutex);
  shared_->catalog = std::move(catalog);
}

std::shared_ptr<const Catalog> FormService::catalog() const { return shared_->snapshot(); }

http::Response FormService::error_page(unsigned status, std::string_view request_id) const {
  return status_page(status, request_id);
}

void FormService::register_routes(http::Router& router) {
  router.add(bhttp::verb::get, "/f/{form}",
             [this](http::Request&& req, http::RequestContext&& ctx, http::Responder r) {
               get_form(std::move(req), std::move(ctx), std::move(r));
             });
  auto shared = shared_;
  router.add(
      bhttp::verb::post, "/f/{form}",
      [this](http::Request&& req, http::RequestContext&& ctx, http::Responder r) {
        post_form(std::move(req), std::move(ctx), std::move(r));
      },
      [shared](const http::Params& params) -> std::size_t {
        auto catalog = shared->snapshot();
        auto it = params.find("form");
        if (catalog && it != params.end()) {
          if (const auto* form = find_form(*catalog, it->second)) {
            return form->declaration.max_body_bytes;
          }
        }
        return 1024;  // unknown form: it will get a 404; read no more than that
      });
  router.add(bhttp::verb::get, "/f/{form}/thanks/{ref}",
             [this](http::Request&& req, http::RequestContext&& ctx, http::Responder r) {
               get_thanks(std::move(req), std::move(ctx), std::move(r));
             });
}

namespace {

http::Response render_form_page(const core::SecretBytes& token_key, const LoadedForm& form,
                                core::TimePoint now, unsigned status,
                                std::map<std::string, std::vector<std::string>> echo,
                                std::vector<forms::FieldError> errors) {
  forms::TokenClaims claims;
  claims.form_id = form.declaration.id;
  claims.form_version = form.version;
  claims.issued_at = core::unix_seconds(now);
  core::SystemRng().fill(claims.nonce);
  forms::RenderContext ctx;
  ctx.action = "/f/" + form.declaration.id;
  ctx.token = forms::issue_token(token_key, claims);
  ctx.csp_nonce = random_token(16);
  std::string body;
  if (echo.empty() && errors.empty()) {
    return html(status, fill_page(form.blank_page, ctx.token, ctx.csp_nonce, {}),
                page_csp(ctx.csp_nonce, frame_ancestors(form.declaration)));
  }
  ctx.echo = std::move(echo);
  ctx.errors = std::move(errors);
  body = forms::render_form(form.declaration, ctx);
  // The echoed values are PHI: wipe them now that the page holds its escaped copy.
  for (auto& [name, values] : ctx.echo) {
    for (auto& v : values) core::secure_wipe(v.data(), v.size());
  }
  return html(status, std::move(body), page_csp(ctx.csp_nonce, frame_ancestors(form.declaration)));
}

}  // namespace

void FormService::get_form(http::Request&&, http::RequestContext&& ctx, http::Responder responder) {
  auto catalog = shared_->snapshot();
  const LoadedForm* form = catalog ? find_form(*catalog, ctx.params.at("form")) : nullptr;
  if (form == nullptr) return responder.send(status_page(404, ctx.request_id));
  if (!form->unavailable_reason.empty()) {
    return responder.send(message_page(503, "Temporarily unavailable",
                                       "This form cannot take submissions at the moment."));
  }
  responder.send(render_form_page(shared_->token_key, *form, shared_->clock.now(), 200, {}, {}));
}

void FormService::get_thanks(http::Request&&, http::RequestContext&& ctx,
                             http::Responder responder) {
  auto catalog = shared_->snapshot();
  std::string form_id = ctx.params.at("form");
  std::string ref = ctx.params.at("ref");
  const LoadedForm* form = catalog ? find_form(*catalog, form_id) : nullptr;
  if (form == nullptr || !is_reference(ref)) {
    return responder.send(status_page(404, ctx.request_id));
  }
  auto shared = shared_;
  bool queued = shared_->pool.post(
      [shared, catalog, form, form_id, ref, responder, request_id = ctx.request_id] {
        auto found = shared->store.submissions().find_submission_blocking(form_id, ref);
        if (!found) {
          spdlog::error("event=store_read_failed request_id={} detail={}", request_id,
                        core::log_safe(found.error().detail()));
          return responder.send(status_page(500, request_id));
        }
        if (!found->has_value()) return responder.send(status_page(404, request_id));
        auto nonce = random_token(16);
        responder.send(html(200, fill_page(form->thanks_page, {}, nonce, ref),
                            page_csp(nonce, frame_ancestors(form->declaration))));
      });
  if (!queued) responder.send(status_page(503, ctx.request_id));
}

void FormService::post_form(http::Request&& req, http::RequestContext&& ctx,
                            http::Responder responder) {
  auto& shared = *shared_;
  auto catalog = shared.snapshot();
  const std::string form_id = ctx.params.at("form");
  const LoadedForm* form = catalog ? find_form(*catalog, form_id) : nullptr;
  if (form == nullptr) return responder.send(status_page(404, ctx.request_id));
  if (!form->unavailable_reason.empty()) return responder.send(status_page(503, ctx.request_id));

  // Strange input is logged as an event with its kind, never with the values (F10).
  auto reject = [&](unsigned status, std::string_view event, std::string_view detail) {
    spdlog::warn("event={} form={} remote={} request_id={} detail={}", event, form_id,
                 ctx.remote_address, ctx.request_id, core::log_safe(detail));
    responder.send(status_page(status, ctx.request_id));
  };

  if (!shared.per_ip.allow(rate_limit_key(ctx.remote_address))) {
    return reject(429, "rate_limited", "per_ip");
  }
  if (!shared.per_form.allow(form_id)) return reject(429, "rate_limited", "per_form");

  auto content_type = req[bhttp::field::content_type];
  auto semicolon = content_type.find(';');
  auto media_type = content_type.substr(0, semicolon);
  while (!media_type.empty() && media_type.back() == ' ') media_type.remove_suffix(1);
  if (!boost::beast::iequals(media_type, "application/x-www-form-urlencoded")) {
    return reject(415, "bad_content_type", media_type);
  }

  forms::UrlencodedLimits limits;
  limits.max_bytes = form->declaration.max_body_bytes;
  auto parsed = forms::parse_urlencoded(req.body(), limits);
  core::secure_wipe(req.body().data(), req.body().size());
  if (!parsed) return reject(400, "bad_body", parsed.error().public_text());

  // Take the reserved inputs out; everything else must be a declared field.
  std::string token;
  std::string honeypot;
  int token_count = 0;
  forms::FieldPairs fields;
  std::map<std::string, std::vector<std::string>> echo;
  for (auto& [name, value] : *parsed) {
    if (name == forms::kTokenInput) {
      ++token_count;
      token = value;
    } else if (name == forms::kHoneypotInput) {
      honeypot = value;
    } else {
      echo[name].push_back(value);
      fields.emplace_back(std::move(name), std::move(value));
    }
  }
  // Moved-from short strings keep their bytes inside the vector's own storage: wipe them.
  for (auto& [n, v] : *parsed) {
    v.resize(v.capacity());
    core::secure_wipe(v.data(), v.size());
  }
  auto wipe_all = [&] {
    for (auto& [n, v] : fields) core::secure_wipe(v.data(), v.size());
    for (auto& [n, vs] : echo) {
      for (auto& v : vs) core::secure_wipe(v.data(), v.size());
    }
  };
  if (token_count != 1) {
    wipe_all();
    return reject(400, "bad_token", "missing or repeated token");
  }
  if (!honeypot.empty()) {
    wipe_all();
    return reject(400, "honeypot", "honeypot filled");
  }

  auto now = shared.clock.now();
  auto check =
      forms::verify_token(shared.token_key, token, form_id, now, shared.config.token_max_age);
  if (!check.ok) {
    if (check.problem == forms::TokenProblem::expired) {
      // The page was open too long: give the form back with everything typed, and a fresh
      // token, rather than lose the patient's work.
      spdlog::info("event=token_expired form={} request_id={}", form_id, ctx.request_id);
      auto page = render_form_page(
          shared.token_key, *form, now, 422, std::move(echo),
          {{"",
            "This page was open for too long. Please check your answers and send the form "
            "again."}});
      wipe_all();
      return responder.send(std::move(page));
    }
    wipe_all();
    spdlog::warn("event=bad_token form={} remote={} request_id={} problem={}", form_id,
                 ctx.remote_address, ctx.request_id, static_cast<int>(check.problem));
    return responder.send(
        message_page(400, "This form could not be verified",
                     "Please open the form again from its link and send it once more."));
  }
  if (check.claims.form_version != form->version) {
    auto page = render_form_page(
        shared.token_key, *form, now, 422, std::move(echo),
        {{"",
          "This form was updated while you were filling it in. Please check your answers "
          "and send it again."}});
    wipe_all();
    return responder.send(std::move(page));
  }

  auto outcome = forms::validate(form->declaration, form->version, fields, iso_date(now));
  if (!outcome.ok) {
    spdlog::info("event=validation_failed form={} request_id={} fields={}", form_id, ctx.request_id,
                 outcome.errors.size());
    auto page = render_form_page(shared.token_key, *form, now, 422, std::move(echo),
                                 std::move(outcome.errors));
    wipe_all();
    return responder.send(std::move(page));
  }
  wipe_all();

  // Encrypt and store off the event loop. The catalog snapshot keeps `form` and the
  // encryptor alive until the job is done.
  auto self = shared_;
  auto job = [self, catalog, form, responder, now, claims = check.claims,
              submission =
                  std::make_shared<forms::ValidatedSubmission>(std::move(outcome.submission)),
              request_id = ctx.request_id]() {
    auto used = self->store.submissions().token_used_blocking(claims.nonce);
    if (used && *used) {
      spdlog::warn("event=token_replay form={} request_id={}", claims.form_id, request_id);
      return responder.send(status_page(409, request_id));
    }
    forms::Attestation attestation;
    attestation.reference = new_reference();
    attestation.received_at = core::unix_seconds(now);
    attestation.token_issued_at = claims.issued_at;
    attestation.honeypot_empty = true;
    auto plaintext = forms::canonical_json(*submission, attestation);
    submission->answers.clear();  // wipes the values (Answer's destructor)
    auto ciphertext = catalog->encryptor->sign_and_encrypt(plaintext.view(), form->recipients);
    plaintext.wipe();
    if (!ciphertext) {
      spdlog::error("event=encrypt_failed form={} request_id={} detail={}", claims.form_id,
                    request_id, core::log_safe(ciphertext.error().detail()));
      return responder.send(status_page(500, request_id));
    }
    store::NewSubmission record;
    record.reference = attestation.reference;
    record.form_id = claims.form_id;
    record.form_version = claims.form_version;
    record.received_at = attestation.received_at;
    record.ciphertext = std::move(*ciphertext);
    for (const auto& r : form->recipients) record.recipients.push_back(r.hex());
    record.token_nonce = claims.nonce;
    // Kept for the longest token age any configuration allows, not the current one.
    record.token_expires_at = claims.issued_at + kMaxTokenAgeSeconds;
    std::string location = "/f/" + claims.form_id + "/thanks/" + record.reference;
    // S4: the file drop gets the same ciphertext once it is durable in the store.
    std::shared_ptr<std::vector<std::uint8_t>> drop_copy;
    if (!self->config.file_drop_dir.empty()) {
      drop_copy = std::make_shared<std::vector<std::uint8_t>>(record.ciphertext);
    }
    self->store.submissions().append_submission(
        std::move(record),
        [self, responder, location, request_id, drop_copy, reference = attestation.reference,
         form_id = claims.form_id](core::Status status) {
          if (!status) {
            bool replay = status.error().kind() == ErrorKind::conflict;
            spdlog::warn("event={} form={} request_id={} detail={}",
                         replay ? "token_replay" : "store_failed", form_id, request_id,
                         core::log_safe(status.error().detail()));
            return responder.send(status_page(replay ? 409 : 503, request_id));
          }
          // Durable: only now is the submitter told it worked (S2).
          auto see_other = [responder, location] {
            http::Response r{bhttp::status::see_other, 11};
            r.set(bhttp::field::location, location);
            r.set(bhttp::field::content_type, "text/plain; charset=utf-8");
            responder.send(std::move(r));
          };
          if (!drop_copy) return see_other();
          // The drop is a copy for pickup: the store is the record. A failed drop write is
          // logged (and `sealpost export` recreates it); the submission stays acknowledged.
          bool queued = self->pool.post([self, drop_copy, reference, form_id, see_other] {
            auto path = DataDir::export_file(self->config.file_drop_dir, reference);
            std::string_view bytes(reinterpret_cast<const char*>(drop_copy->data()),
                                   drop_copy->size());
            try {
              if (auto s = write_file(path, bytes, 0600, true); !s) {
                spdlog::error("event=file_drop_failed form={} detail={}", form_id,
                              core::log_safe(s.error().public_text()));
              }
            } catch (const std::exception& e) {
              spdlog::error("event=file_drop_failed form={} detail={}", form_id,
                            core::log_safe(e.what()));
            }
            see_other();  // stored durably: the submitter is told, whatever the drop did
          });
          if (!queued) {
            spdlog::error("event=file_drop_failed form={} detail=pool_full", form_id);
            see_other();
          }
        });
  };
  if (!shared.pool.post(std::move(job))) {
    spdlog::warn("event=overloaded form={} request_id={}", form_id, ctx.request_id);
    responder.send(status_page(503, ctx.request_id));
  }
}

}  // namespace app
