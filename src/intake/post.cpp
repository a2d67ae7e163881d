// Trust: untrusted network input (form posts). Strange input is logged as an event with its
// kind, never with the values (F10); decoded values are wiped as soon as they are not needed.
// The life of a submission after POST /f/{form}, in stages: admit (form, rate limits, content
// type), read (body parse, reserved inputs), check (token, validation), seal (replay
// pre-check, canonical JSON, sign+encrypt, on the blocking pool), commit (group commit in the
// store). Each stage either hands on or ends the post with one PostOutcome.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <ctime>
#include <map>
#include <variant>

#include "core/log.hpp"
#include "forms/reference.hpp"
#include "forms/render.hpp"
#include "forms/token.hpp"
#include "forms/urlencoded.hpp"
#include "forms/validation.hpp"
#include "intake/detail/pages.hpp"
#include "intake/detail/shared.hpp"
#include "intake/intake.hpp"
#include "intake/post_limits.hpp"

namespace intake {

using core::ErrorKind;
using Kind = PostOutcome::Kind;

namespace {

PostOutcome ended(Kind kind) {
  PostOutcome o;
  o.kind = kind;
  return o;
}

PostOutcome with_page(Kind kind, Page page) {
  PostOutcome o = ended(kind);
  o.page = std::move(page);
  return o;
}

std::string iso_date(core::TimePoint t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

bool ascii_iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// A post as its stages keep it once post() has returned (the rate limits may answer from the
// blocking pool): its own copy of the body, wiped when the last stage lets go of it.
struct HeldPost {
  std::string form_id;
  std::string content_type;
  std::string body;
  std::string remote_address;
  std::string request_id;

  explicit HeldPost(const Post& post)
      : form_id(post.form_id),
        content_type(post.content_type),
        body(post.body),
        remote_address(post.remote_address),
        request_id(post.request_id) {}
  HeldPost(const HeldPost&) = delete;
  HeldPost& operator=(const HeldPost&) = delete;
  ~HeldPost() { core::secure_wipe(body.data(), body.size()); }
};

PostOutcome rejected(const HeldPost& post, Kind kind, std::string_view event,
                     std::string_view detail) {
  spdlog::warn("event={} form={} remote={} request_id={} detail={}", event, post.form_id,
               post.remote_address, post.request_id, core::log_safe(detail));
  return ended(kind);
}

// --- admit -----------------------------------------------------------------------------------

// Rate limits are counted before anything is parsed (Intake::post), so invalid posts use up
// the budget too; this is what follows the rate limits' verdict.
std::optional<PostOutcome> admit(const HeldPost& post, PostLimits::Verdict verdict) {
  using Verdict = PostLimits::Verdict;
  switch (verdict) {
    case Verdict::allowed:
      break;
    case Verdict::per_ip:
      return rejected(post, Kind::rate_limited, "rate_limited", "per_ip");
    case Verdict::per_form:
      return rejected(post, Kind::rate_limited, "rate_limited", "per_form");
    case Verdict::unavailable: {
      // The shared budget could not be read: fail closed, as the commit would (503).
      PostOutcome o = rejected(post, Kind::not_stored, "rate_limit_unavailable", "store");
      o.failure = ErrorKind::unavailable;
      return o;
    }
    case Verdict::overloaded:
      return rejected(post, Kind::overloaded, "overloaded", "rate limit");
  }
  std::string_view content_type = post.content_type;
  auto semicolon = content_type.find(';');
  auto media_type = content_type.substr(0, semicolon);
  while (!media_type.empty() && media_type.back() == ' ') media_type.remove_suffix(1);
  if (!ascii_iequals(media_type, "application/x-www-form-urlencoded")) {
    return rejected(post, Kind::unsupported_type, "bad_content_type", media_type);
  }
  return std::nullopt;
}

// --- read ------------------------------------------------------------------------------------

// The decoded inputs of a post: the reserved ones apart, the declared fields, and a copy of
// those to echo back into a re-rendered form. Wiped when done with (or destroyed).
struct Inputs {
  std::string token;
  std::string honeypot;
  int token_count = 0;
  bool copy_requested = false;  // F14: the copy box, on a form with copy_to
  forms::FieldPairs fields;
  std::map<std::string, std::vector<std::string>> echo;

  Inputs() = default;
  Inputs(Inputs&&) = default;
  Inputs& operator=(Inputs&&) = default;
  ~Inputs() { wipe(); }
  void wipe() {
    for (auto& [n, v] : fields) core::secure_wipe(v.data(), v.size());
    for (auto& [n, vs] : echo) {
      for (auto& v : vs) core::secure_wipe(v.data(), v.size());
    }
  }
};

std::variant<Inputs, PostOutcome> read(HeldPost& post, const LoadedForm& form) {
  forms::UrlencodedLimits limits;
  limits.max_bytes = form.declaration.max_body_bytes;
  auto parsed = forms::parse_urlencoded(post.body, limits);
  core::secure_wipe(post.body.data(), post.body.size());
  if (!parsed) {
    return rejected(post, Kind::malformed, "bad_body", parsed.error().public_text());
  }
  // Take the reserved inputs out; everything else must be a declared field.
  Inputs in;
  for (auto& [name, value] : *parsed) {
    if (name == forms::kTokenInput) {
      ++in.token_count;
      in.token = value;
    } else if (name == forms::kHoneypotInput) {
      in.honeypot = value;
    } else if (name == forms::kCopyInput && !form.declaration.copy_to.empty() &&
               value == forms::kCopyValue && !in.copy_requested) {
      // F14. Anywhere else (a form without copy_to, another value, a second box) it stays
      // an undeclared input, which validation refuses as it does any other.
      in.copy_requested = true;
    } else {
      in.echo[name].push_back(value);
      in.fields.emplace_back(std::move(name), std::move(value));
    }
  }
  // Moved-from short strings keep their bytes inside the vector's own storage: wipe them.
  for (auto& [n, v] : *parsed) {
    v.resize(v.capacity());
    core::secure_wipe(v.data(), v.size());
  }
  if (in.token_count != 1) {
    return rejected(post, Kind::malformed, "bad_token", "missing or repeated token");
  }
  // A filled honeypot gets a plain refusal: the bot gets no fake success.
  if (!in.honeypot.empty()) return rejected(post, Kind::malformed, "honeypot", "honeypot filled");
  return in;
}

// --- check -----------------------------------------------------------------------------------

struct Checked {
  forms::TokenClaims claims;
  forms::ValidatedSubmission submission;
  bool copy_requested = false;
};

std::variant<Checked, PostOutcome> check(Intake::Shared& s, const LoadedForm& form, Inputs& in,
                                         const HeldPost& post, core::TimePoint now) {
  auto resubmit = [&](std::vector<forms::FieldError> errors) {
    return with_page(Kind::resubmit,
                     detail::form_page(s.token_key, form, now, s.rng, std::move(in.echo),
                                       std::move(errors), in.copy_requested));
  };
  auto token =
      forms::verify_token(s.token_key, in.token, post.form_id, now, s.limits.token_max_age);
  if (!token.ok) {
    if (token.problem == forms::TokenProblem::expired) {
      // The page was open too long: give the form back with everything typed, and a fresh
      // token, rather than lose the patient's work.
      spdlog::info("event=token_expired form={} request_id={}", post.form_id, post.request_id);
      return resubmit({{"",
                        "This page was open for too long. Please check your answers and send the "
                        "form again."}});
    }
    spdlog::warn("event=bad_token form={} remote={} request_id={} problem={}", post.form_id,
                 post.remote_address, post.request_id, static_cast<int>(token.problem));
    return with_page(
        Kind::not_verified,
        message_page("This form could not be verified",
                     "Please open the form again from its link and send it once more.", s.rng));
  }
  if (token.claims.form_version != form.version) {
    return resubmit({{"",
                      "This form was updated while you were filling it in. Please check your "
                      "answers and send it again."}});
  }
  auto outcome = forms::validate(form.declaration, form.version, in.fields, iso_date(now));
  if (!outcome.ok) {
    spdlog::info("event=validation_failed form={} request_id={} fields={}", post.form_id,
                 post.request_id, outcome.errors.size());
    return resubmit(std::move(outcome.errors));
  }
  return Checked{std::move(token.claims), std::move(outcome.submission), in.copy_requested};
}

// --- seal (blocking pool) -------------------------------------------------------------------

// What seal_blocking hands to the commit: the record, and (F14) the submitter's copy.
struct Sealed {
  store::NewSubmission record;
  std::shared_ptr<forms::SubmitterCopy> copy;
  std::shared_ptr<core::SecretBytes> notify_text;  // notify_mode = "smime"
};

std::variant<Sealed, PostOutcome> seal_blocking(Intake::Shared& s, const Catalog& catalog,
                                                const LoadedForm& form, Checked& checked,
                                                core::TimePoint now,
                                                const std::string& request_id) {
  const auto& claims = checked.claims;
  // Only an optimisation (a replay costs no encryption): the commit is the authority.
  auto used = s.store.submissions().token_used_blocking(claims.nonce);
  if (used && *used) {
    spdlog::warn("event=token_replay form={} request_id={}", claims.form_id, request_id);
    return ended(Kind::replay);
  }
  forms::Attestation attestation;
  attestation.reference = forms::new_reference(s.rng);
  attestation.received_at = core::unix_seconds(now);
  attestation.token_issued_at = claims.issued_at;
  attestation.honeypot_empty = true;
  auto plaintext = forms::canonical_json(checked.submission, attestation);
  // F14: the copy's text is composed from the same answers, before they are wiped; it stays
  // in memory until app/ has queued it (sealed there like any encrypt message).
  std::shared_ptr<forms::SubmitterCopy> copy;
  if (checked.copy_requested) {
    if (auto address = forms::copy_address(form.declaration, checked.submission)) {
      copy = std::make_shared<forms::SubmitterCopy>();
      copy->address = *address;
      core::secure_wipe(address->data(), address->size());
      copy->subject = forms::copy_subject(form.declaration, attestation.reference);
      copy->text = forms::copy_text(form.declaration, checked.submission, attestation.reference,
                                    attestation.received_at);
    }
  }
  std::shared_ptr<core::SecretBytes> notify_text;
  if (form.declaration.notify_mode == forms::NotifyMode::smime) {
    notify_text = std::make_shared<core::SecretBytes>(forms::answers_text(
        form.declaration, checked.submission, attestation.reference, attestation.received_at));
  }
  checked.submission.answers.clear();  // wipes the values (Answer's destructor)
  auto ciphertext = catalog.encryptor->sign_and_encrypt(plaintext.view(), form.recipients);
  plaintext.wipe();
  if (!ciphertext) {
    spdlog::error("event=encrypt_failed form={} request_id={} detail={}", claims.form_id,
                  request_id, core::log_safe(ciphertext.error().detail()));
    return ended(Kind::not_encrypted);
  }
  store::NewSubmission record;
  record.reference = attestation.reference;
  record.form_id = claims.form_id;
  record.form_version = claims.form_version;
  record.received_at = attestation.received_at;
  record.ciphertext = std::move(*ciphertext);
  for (const auto& r : form.recipients) record.recipients.push_back(r.hex());
  record.token_nonce = claims.nonce;
  // Kept for the longest token age any configuration allows, not the current one.
  record.token_expires_at = claims.issued_at + kMaxTokenAgeSeconds;
  return Sealed{std::move(record), std::move(copy), std::move(notify_text)};
}

// --- commit (store writer) ---------------------------------------------------------------------

void commit(const std::shared_ptr<Intake::Shared>& self, store::NewSubmission record,
            const std::string& request_id, bool copy_requested,
            std::shared_ptr<forms::SubmitterCopy> copy,
            std::shared_ptr<core::SecretBytes> notify_text, const Intake::PostDone& done) {
  PostOutcome stored = ended(Kind::stored);
  stored.copy_requested = copy_requested;
  stored.submitter_copy = std::move(copy);
  stored.notify_text = std::move(notify_text);
  stored.location = "/f/" + record.form_id + "/thanks/" + record.reference;
  stored.reference = record.reference;
  // S4: the file drop gets the same ciphertext once it is durable in the store.
  if (self->file_drop) {
    stored.drop_copy = std::make_shared<const std::vector<std::uint8_t>>(record.ciphertext);
  }
  std::string form_id = record.form_id;
  self->store.submissions().append_submission(
      std::move(record), [done, request_id, form_id, stored](core::Status status) mutable {
        if (!status) {
          bool replay = status.error().kind() == ErrorKind::conflict;
          spdlog::warn("event={} form={} request_id={} detail={}",
                       replay ? "token_replay" : "store_failed", form_id, request_id,
                       core::log_safe(status.error().detail()));
          if (replay) return done(ended(Kind::replay));
          PostOutcome failed = ended(Kind::not_stored);
          failed.failure = status.error().kind();
          return done(std::move(failed));
        }
        // Durable: only now is the submitter told it worked (S2).
        done(std::move(stored));
      });
}

// Everything after the rate limits: admit's other checks, read, check, then seal and commit
// on the blocking pool. Runs on the caller's thread or (shared rate limits) on a pool thread.
void proceed(const std::shared_ptr<Intake::Shared>& self,
             const std::shared_ptr<const Catalog>& catalog, const LoadedForm* form,
             const std::shared_ptr<HeldPost>& post, PostLimits::Verdict verdict,
             const Intake::PostDone& done) {
  if (auto refused = admit(*post, verdict)) return done(std::move(*refused));

  auto read_result = read(*post, *form);
  if (auto* end = std::get_if<PostOutcome>(&read_result)) return done(std::move(*end));
  auto& inputs = std::get<Inputs>(read_result);

  const auto now = self->clock.now();
  auto check_result = check(*self, *form, inputs, *post, now);
  inputs.wipe();
  if (auto* end = std::get_if<PostOutcome>(&check_result)) return done(std::move(*end));
  auto checked = std::make_shared<Checked>(std::move(std::get<Checked>(check_result)));

  // Encrypt and store off the event loop. The catalog snapshot keeps `form` and the
  // encryptor alive until the job is done.
  auto job = [self, catalog, form, checked, now, done, request_id = post->request_id] {
    auto sealed = seal_blocking(*self, *catalog, *form, *checked, now, request_id);
    if (auto* end = std::get_if<PostOutcome>(&sealed)) return done(std::move(*end));
    auto& s = std::get<Sealed>(sealed);
    commit(self, std::move(s.record), request_id, checked->copy_requested, std::move(s.copy),
           std::move(s.notify_text), done);
  };
  if (!self->pool.post(std::move(job))) {
    spdlog::warn("event=overloaded form={} request_id={}", post->form_id, post->request_id);
    done(ended(Kind::overloaded));
  }
}

}  // namespace

void Intake::post(Post post, PostDone done) {
  // The raw body may hold PHI whatever becomes of the post: wiped when this returns (the
  // held copy and the parsed values are wiped by their own stages).
  struct WipeBody {
    std::string& body;
    ~WipeBody() { core::secure_wipe(body.data(), body.size()); }
  } wipe_body{post.body};
  auto catalog = shared_->snapshot();
  const LoadedForm* form = catalog ? find_form(*catalog, post.form_id) : nullptr;
  if (form == nullptr) return done(ended(Kind::unknown_form));
  if (!form->unavailable_reason.empty()) return done(ended(Kind::form_unavailable));

  auto held = std::make_shared<HeldPost>(post);
  shared_->post_limits->take(
      rate_limit_key(post.remote_address), post.form_id,
      [self = shared_, catalog, form, held, done](PostLimits::Verdict verdict) {
        proceed(self, catalog, form, held, verdict, done);
      });
}

}  // namespace intake
