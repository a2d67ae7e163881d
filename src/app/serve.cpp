// `sealpost serve`: wires config, store, crypto and the form handlers into the HTTP server,
// and owns the process lifecycle (signals, reload, graceful drain).
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "app/admin.hpp"
#include "app/api_routes.hpp"
#include "app/block_guard.hpp"
#include "app/budgets.hpp"
#include "app/cli_support.hpp"
#include "app/commands.hpp"
#include "app/config.hpp"
#include "app/counting_store.hpp"
#include "app/data_dir.hpp"
#include "app/files.hpp"
#include "app/form_routes.hpp"
#include "app/mail_commands.hpp"
#include "app/mail_monitor.hpp"
#include "app/notices.hpp"
#include "app/portal_routes.hpp"
#include "app/store_setup.hpp"
#include "app/submitter_copies.hpp"
#include "app/systemd_notify.hpp"
#include "audit/auditor.hpp"
#include "audit/checkpoint_log.hpp"
#include "campaigns/contacts_api.hpp"
#include "campaigns/sender.hpp"
#include "core/blocking_pool.hpp"
#include "core/encoding.hpp"
#include "core/log.hpp"
#include "crypto/hmac.hpp"
#include "http/admin_server.hpp"
#include "http/server.hpp"
#include "http/tls_context.hpp"
#include "intake/catalog.hpp"
#include "intake/intake.hpp"
#include "mail/api/messages_api.hpp"
#include "mail/dns/resolver.hpp"
#include "mail/mime/address.hpp"
#include "mail/queue/delivery.hpp"
#include "mail/queue/outbox.hpp"
#include "mail/secure/sealer.hpp"
#include "mail/submission/server.hpp"
#include "mail/submission/submitter.hpp"
#include "portal/portal.hpp"
#include "store/store.hpp"
#include "webhooks/event.hpp"
#include "webhooks/sender.hpp"

namespace app {

namespace net = boost::asio;

namespace {

// Signs a checkpoint every kCheckpointInterval while the server runs (a no-op when the
// head is covered already).
class PeriodicCheckpoints {
 public:
  static constexpr auto kCheckpointInterval = std::chrono::seconds(60);
  explicit PeriodicCheckpoints(audit::Auditor& auditor)
      : auditor_(auditor), thread_([this] { run(); }) {}
  ~PeriodicCheckpoints() { stop(); }
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    while (!cv_.wait_for(lock, kCheckpointInterval, [this] { return stopping_; })) {
      lock.unlock();
      if (auto s = auditor_.checkpoint_blocking(); !s) {
        // A broken chain or an unreachable database: said loudly, tried again next time.
        spdlog::error("event=audit_checkpoint_failed detail={}",
                      core::log_safe(s.error().detail()));
      }
      lock.lock();
    }
  }
  audit::Auditor& auditor_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;  // last
};

core::Status check_node_secrets_blocking(store::Store& store, const DataDir& dir,
                                         const core::SecretBytes& token_key,
                                         const core::SecretBytes& signing_key,
                                         const core::Clock& clock, core::Rng& rng) {
  auto seal_key = load_or_create_seal_key(dir.portal_seal_key(), rng);
  if (!seal_key) return core::fail(std::move(seal_key).error());
  // Queued mail bodies are sealed under it: a node with another could not send them.
  auto queue_key = load_or_create_seal_key(dir.queue_key(), rng);
  if (!queue_key) return core::fail(std::move(queue_key).error());
  // Contact fields are sealed under it (campaigns/contacts.hpp).
  auto contacts_key = load_or_create_seal_key(dir.contacts_key(), rng);
  if (!contacts_key) return core::fail(std::move(contacts_key).error());
  const struct {
    const char* name;
    std::filesystem::path file;
    const core::SecretBytes& secret;
  } secrets[] = {
      {"form-token", dir.form_token_secret(), token_key},
      {"server-signing-key", dir.signing_secret_key(), signing_key},
      {"portal-seal", dir.portal_seal_key(), *seal_key},
      {"queue", dir.queue_key(), *queue_key},
      {"contacts", dir.contacts_key(), *contacts_key},
  };
  const std::int64_t now = core::unix_seconds(clock.now());
  for (const auto& secret : secrets) {
    if (auto s = claim_node_secret_blocking(store, secret.name, secret.file, secret.secret, now);
        !s) {
      return s;
    }
  }
  return core::ok();
}

// "" when the trail verifies against the database's checkpoints, this node's checkpoint
// log and the store's submissions; else why not (one line, no PHI).
std::string check_audit_at_start_blocking(store::Store& store, const DataDir& dir) {
  auto public_key = read_file(dir.signing_public_key(), crypto::kMaxKeyFileBytes);
  if (!public_key) return public_key.error().public_text();
  auto log = audit::read_checkpoint_lines(dir.audit_checkpoint_log());
  if (!log) return log.error().public_text();
  auto report = audit::verify_audit_blocking(
      store, *public_key, {{"the checkpoint log " + dir.audit_checkpoint_log().string(), *log}});
  if (!report) return report.error().public_text();
  if (!report->ok) {
    return "entry " + std::to_string(report->bad_seq) + ": " + report->reason;
  }
  return {};
}

// Watches the store's configuration generation so `form add`, `form disable` and
// `key import`, run by an administrator in another process or on another node, take
// effect here within a second (a one-row read every kPollInterval: a few queries a second
// per node, nothing for PostgreSQL); and rebuilds the catalog when a recipient key in use
// expires.
class CatalogReloader : public std::enable_shared_from_this<CatalogReloader> {
 public:
  CatalogReloader(net::io_context& io, intake::Intake& service, store::Store& store,
                  const Config& config, const core::SecretBytes& signing_key,
                  core::BlockingPool& pool, std::size_t contexts, core::Rng& rng)
      : timer_(boost::asio::make_strand(io)),
        service_(service),
        store_(store),
        config_(config),
        signing_key_(signing_key),
        pool_(pool),
        contexts_(contexts),
        rng_(rng) {}

  static constexpr auto kPollInterval = std::chrono::milliseconds(500);

  void start() { schedule(); }
  // Called from the signal handler's thread: the timer is only touched on its strand.
  void stop() {
    stopped_ = true;
    boost::asio::post(timer_.get_executor(),
                      [self = shared_from_this()] { self->timer_.cancel(); });
  }
  // Checks now (SIGHUP).
  void poke() { check(); }

 private:
  void schedule() {
    if (stopped_) return;
    timer_.expires_after(kPollInterval);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->stopped_) return;
      self->check();
      self->schedule();
    });
  }

  void check() {
    if (busy_.exchange(true)) return;
    auto self = shared_from_this();
    bool posted = pool_.post([self] {
      self->refresh_blocking();
      self->busy_ = false;
    });
    if (!posted) busy_ = false;
  }

 public:
  // Rebuilds the catalog if the store's configuration generation moved (or a key in use
  // expired). The portal calls it after each change it committed, before answering, so a
  // grant or a new key applies on this node to the very next submission; other nodes see
  // it at their next poll (kPollInterval). One refresh at a time: a caller that waits sees
  // the generation the refresh before it left.
  void refresh_blocking() {
    std::lock_guard lock(refresh_mutex_);
    auto generation = store_.forms().config_generation_blocking();
    auto current = service_.catalog();
    core::SystemClock clock;
    bool key_expired = current && current->next_key_expiry &&
                       core::unix_seconds(clock.now()) >= *current->next_key_expiry;
    if (!generation || !current || (*generation == current->generation && !key_expired)) return;
    auto catalog = intake::load_catalog_blocking(store_, config_.recovery_key_fingerprint,
                                                 signing_key_, clock.now(), contexts_, rng_);
    if (catalog) {
      service_.set_catalog(*catalog);
      spdlog::info("event=catalog_reloaded generation={} forms={}", (*catalog)->generation,
                   (*catalog)->forms.size());
    } else {
      spdlog::error("event=catalog_reload_failed detail={}",
                    core::log_safe(catalog.error().public_text()));
    }
  }

 private:
  net::steady_timer timer_;
  intake::Intake& service_;
  store::Store& store_;
  const Config& config_;
  const core::SecretBytes& signing_key_;
  core::BlockingPool& pool_;
  std::size_t contexts_;
  core::Rng& rng_;
  std::atomic<bool> busy_{false};
  std::atomic<bool> stopped_{false};
  std::mutex refresh_mutex_;
};

// [mail] as the delivery engine takes it (load_config checked every value).
mail::queue::DeliveryOptions delivery_options(const Config& config, const std::string& ehlo,
                                              core::Rng& rng) {
  mail::queue::DeliveryOptions o;
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  std::array<std::uint8_t, 6> tag{};
  rng.fill(tag);
  o.node_id = fmt::format("{}/{}/{:02x}", host, ::getpid(), fmt::join(tag, ""));
  o.ehlo_name = ehlo;
  o.remote_port = static_cast<std::uint16_t>(config.mail.remote_port);
  o.ca_file = config.mail.ca_file;
  o.default_policy =
      mail::policy::parse_policy(config.mail.default_policy).value_or(mail::policy::Policy::verify);
  for (const auto& [domain, name] : config.mail.domain_policies) {
    o.domain_policies[domain] =
        mail::policy::parse_policy(name).value_or(mail::policy::Policy::verify);
  }
  o.retry_first = config.mail.retry_first;
  o.retry_max = config.mail.retry_max;
  o.expire = config.mail.expire;
  o.lease = config.mail.lease;
  o.max_connections = config.mail.max_connections;
  o.max_per_domain = config.mail.max_per_domain;
  return o;
}

}  // namespace

int run_serve(const std::string& data_dir, const std::optional<std::string>& https_listen,
              const std::optional<std::string>& http_listen,
              const std::optional<std::string>& admin_listen,
              const std::optional<std::string>& submission_listen,
              const std::optional<std::string>& submissions_listen) {
  // A client that disconnects must not kill us (SIGPIPE); a file-size limit must surface
  // as a write error the store reports as 503, not as a signal (SIGXFSZ).
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGXFSZ, SIG_IGN);
  // The process holds plaintext in memory while it encrypts: no core dump may write it to
  // disk, and no other process of the same user may read it through ptrace.
  rlimit no_core{0, 0};
  if (::setrlimit(RLIMIT_CORE, &no_core) != 0 || ::prctl(PR_SET_DUMPABLE, 0) != 0) {
    return fail_line("cannot disable core dumps");
  }

  DataDir dir(data_dir);
  auto config = load_config(dir);
  if (!config) return fail_line(config.error().public_text());
  if (auto s = check_serve_paths(*config); !s) return fail_line(s.error().public_text());
  if (https_listen) config->https_listen = *https_listen;
  if (http_listen) config->http_listen = *http_listen;
  if (admin_listen) config->admin_listen = *admin_listen;
  if (submission_listen) config->submission.listen = *submission_listen;
  if (submissions_listen) config->submission.tls_listen = *submissions_listen;
  if (auto s = check_admin_listen(*config); !s) return fail_line(s.error().public_text());
  core::init_logging(config->log_level, config->log_format);
  Metrics metrics;  // before the store and the server: both report to it until they stop

  auto token_key = read_secret_file(dir.form_token_secret(), 4096);
  if (!token_key) return fail_line(token_key.error().public_text());
  if (token_key->size() < 32) return fail_line("the form token secret is shorter than 32 bytes");
  auto signing_key = read_secret_file(dir.signing_secret_key(), 64 * 1024);
  if (!signing_key) return fail_line(signing_key.error().public_text());

  auto tls = http::make_server_tls_context(config->tls_certificate_file,
                                           config->tls_private_key_file, config->tls);
  if (!tls) return fail_line(tls.error().public_text());

  auto opened = open_configured_store_blocking(dir, *config);
  if (!opened) return fail_line(opened.error().public_text());
  std::unique_ptr<store::Store> store = std::make_unique<CountingStore>(
      std::move(*opened), [&metrics](bool ok) { metrics.count_audit_append(ok); });
  store->set_commit_observer([&metrics](std::size_t batch, double seconds, bool committed) {
    metrics.observe_commit(batch, seconds, committed);
  });

  std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
  std::size_t io_threads = config->threads ? config->threads : cores;
  std::size_t crypto_threads = config->crypto_threads ? config->crypto_threads : cores;
  // Queue bound: beyond ~1000 waiting jobs a submitter is better told 503 at once.
  core::BlockingPool pool(crypto_threads, 1024);

  core::SystemClock clock;
  core::SystemRng rng;
  // Nodes sharing a database must share their secrets too (a token issued by one node is
  // checked by another; TOTP secrets are sealed under one key): the first node records a
  // keyed fingerprint of each, every later one must match it.
  if (auto s = check_node_secrets_blocking(*store, dir, *token_key, *signing_key, clock, rng); !s) {
    return fail_line(s.error().public_text());
  }
  auto catalog = intake::load_catalog_blocking(*store, config->recovery_key_fingerprint,
                                               *signing_key, clock.now(), crypto_threads, rng);
  if (!catalog) return fail_line(catalog.error().public_text());

  // Start and stop of the server are audited (actor "system"); a trail that cannot be
  // written stops the start, before any port is opened.
  audit::Auditor auditor(*store, *signing_key, clock, dir.audit_checkpoint_log());
  if (auto s = auditor.record_blocking("system", "serve.start", "server", "local", "ok"); !s) {
    return fail_line(s.error().public_text());
  }
  // The chain is checked once at start, against the database's checkpoints and this node's
  // checkpoint log. A broken chain is an alert (log line + audit entry), not a refusal to
  // serve: the evidence stays where it is for the investigation.
  bool audit_chain_broken = false;  // also shown by /readyz and /metrics (O3)
  if (auto alert = check_audit_at_start_blocking(*store, dir); !alert.empty()) {
    audit_chain_broken = true;
    spdlog::error("event=alert kind=audit_chain_broken detail={}", core::log_safe(alert));
    if (auto s = auditor.record_blocking("system", "alert.audit_chain_broken", "audit", "local",
                                         "failed");
        !s) {
      spdlog::error("event=audit_failed detail={}", core::log_safe(s.error().detail()));
    }
  }
  // Every stored submission's receipt joins the chain in its own transaction (A8).
  store->submissions().set_receipt_audit(
      [&clock](const std::optional<store::AuditRow>& last, const store::NewSubmission& sub) {
        return audit::receipt_entry(last, sub, core::unix_seconds(clock.now()));
      });
  // ... and its webhook event is queued in that transaction too (ids only).
  store->submissions().set_receipt_event([](const store::NewSubmission& sub) {
    auto e = webhooks::submission_received(sub.form_id, sub.reference, sub.received_at);
    return store::WebhookEvent{std::move(e.id), std::move(e.type), std::move(e.payload)};
  });
  // Checkpoints at least once a minute while entries arrive (receipts do not pass through
  // the Auditor's every-100 rule), each also appended to this node's checkpoint log.
  PeriodicCheckpoints periodic(auditor);

  // Rate limits, automatic-block counts and the API lockout: in memory on SQLite (one node),
  // in the database on PostgreSQL (shared by every node).
  Budgets budgets =
      make_budgets(*store, pool, clock, config->intake, config->abuse,
                   {config->submission.messages_per_minute, config->submission.messages_burst});
  spdlog::info("event=budgets where={}", budgets.shared ? "database" : "memory");
  intake::Intake forms(config->intake, !config->file_drop_dir.empty(), *store, pool, clock, rng,
                       std::move(*token_key), budgets.posts);
  forms.set_catalog(*catalog);

  // The portal: the browser verifies submissions against the server's public signing key.
  auto seal_key = load_or_create_seal_key(dir.portal_seal_key(), rng);
  if (!seal_key) return fail_line(seal_key.error().public_text());
  auto server_public = read_file(dir.signing_public_key(), crypto::kMaxKeyFileBytes);
  if (!server_public) return fail_line(server_public.error().public_text());
  auto server_keys = crypto::parse_public_keys(
      std::span(reinterpret_cast<const std::uint8_t*>(server_public->data()),
                server_public->size()),
      clock.now());
  if (!server_keys || server_keys->size() != 1) {
    return fail_line(dir.signing_public_key().string() + " is not the server's public key");
  }
  portal::Portal portal(
      config->portal, *store, clock, rng, auditor,
      portal::Keys{.seal_key = std::move(*seal_key),
                   .server_public_armored = server_keys->front().armored,
                   .server_fingerprint = server_keys->front().info.fingerprint.hex()});

  // Outbound mail (issue 8). Without a working resolver (a missing trust anchor, a bad
  // [mail] resolver) or a DKIM key, the forms and the portal still serve; nothing is sent,
  // the API answers 503, and the log says why (event=mail_disabled).
  auto mail_queue_key = load_or_create_seal_key(dir.queue_key(), rng);
  if (!mail_queue_key) return fail_line(mail_queue_key.error().public_text());
  std::unique_ptr<mail::dns::Resolver> resolver;
  std::unique_ptr<mail::dkim::Signer> mail_signer;
  // `security = encrypt` (issue 9): PGP/MIME signed by the server's OpenPGP key, S/MIME by
  // the organisation's certificate when [mail] smime_cert_file is set.
  auto smime = load_smime_setup(*config);
  if (!smime) return fail_line(smime.error().public_text());
  const mail::secure::Sealer sealer(*signing_key, smime->signer ? &*smime->signer : nullptr,
                                    smime->ca_pem);
  // The secure-message portal (issue 9): its links name [server] public_origin, never a
  // listener address; without it keyless recipients of `security = encrypt` are refused.
  const mail::queue::EscrowSettings escrow{.origin = config->public_origin,
                                           .days = config->mail.secure_message_days};
  std::unique_ptr<mail::queue::Outbox> outbox;
  bool mail_broken = false;  // configured, yet this node cannot send: an alert once ready
  {
    auto created = mail::dns::Resolver::create(resolver_options(*config));
    auto signer = load_mail_signer(dir, *config);
    const std::string hostname = mail_hostname(*config);
    if (config->mail.dkim_selector.empty()) {
      // Mail was never set up here: nothing to send, nothing to alert about.
      spdlog::info("event=mail_not_configured detail=[mail] dkim_selector is not set");
    } else if (!created) {
      spdlog::error("event=mail_disabled reason={}", core::log_safe(created.error().public_text()));
      mail_broken = true;
    } else if (!signer) {
      // Every message is signed, bounce notices too: without a key nothing is sent.
      spdlog::error("event=mail_disabled reason={}", core::log_safe(signer.error().public_text()));
      mail_broken = true;
    } else {
      mail_signer = std::make_unique<mail::dkim::Signer>(std::move(*signer));
      resolver = std::move(*created);
      if (!resolver->validating()) {
        spdlog::warn("event=mail_dnssec_off detail=no trust anchor: DANE never applies");
      }
      // The API queues through the same Outbox as `mail send`; it needs a Message-ID domain.
      if (mail::mime::normalize_domain(hostname) && hostname.find('.') != std::string::npos) {
        outbox = std::make_unique<mail::queue::Outbox>(*store, auditor, *mail_signer,
                                                       *mail_queue_key, hostname, clock, rng);
        outbox->set_sealer(&sealer);
        outbox->set_escrow(&escrow);
      } else {
        spdlog::error(
            "event=mail_api_disabled reason=[mail] hostname is not a fully qualified "
            "name");
      }
    }
  }
  mail::api::MessagesApi messages_api(
      *store, outbox.get(), clock,
      mail::api::Options{.default_sender = config->mail.default_sender,
                         .default_policy = mail::policy::parse_policy(config->mail.default_policy)
                                               .value_or(mail::policy::Policy::verify)},
      budgets.api_failures.get());
  // Contacts (issue 11) over the same keys; their fields sealed under secrets/contacts.key.
  auto contacts_key = load_or_create_seal_key(dir.contacts_key(), rng);
  if (!contacts_key) return fail_line(contacts_key.error().public_text());
  campaigns::ContactsApi contacts_api(*store, auditor, messages_api, *contacts_key, rng, clock,
                                      config->contacts.purposes);
  // Campaigns (issue 11): written and approved in the portal; their unsubscribe links name
  // [server] public_origin, so without it none can start.
  portal.set_campaigns(portal::CampaignSettings{.purposes = config->contacts.purposes,
                                                .contacts_key = &*contacts_key,
                                                .can_unsubscribe = !config->public_origin.empty()});
  // SMTP submission (issue 9): mail clients queue through the same key check and Outbox.
  mail::submission::Submitter submitter(
      messages_api, outbox.get(), auditor, clock,
      mail::submission::SubmitterOptions{
          .default_policy = mail::policy::parse_policy(config->mail.default_policy)
                                .value_or(mail::policy::Policy::verify),
          .secure_marker = config->submission.secure_marker,
          .messages_per_minute = config->submission.messages_per_minute,
          .messages_burst = config->submission.messages_burst},
      budgets.submissions.get());

  if (outbox) {
    // The one-time code of a secure-message copy goes to its recipient in a mail of its own,
    // under the TLS policy of the message it belongs to.
    portal.set_secure_code_sender(
        [&db = *store, outbox = outbox.get()](const store::SecureMessageRecord& copy,
                                              std::string_view code) -> core::Status {
          auto message = db.mail().find_message_blocking(copy.message_id, false);
          if (!message) return core::fail(std::move(message).error());
          if (!*message) {
            return core::fail(core::ErrorKind::unavailable, "the message is not in the queue",
                              "secure copy without its queue message");
          }
          auto policy = mail::policy::parse_policy((*message)->security);
          if (!policy) return core::fail(std::move(policy).error());
          // A copy made by `forced`'s fallback (its recipient is one of the message's own,
          // dropped when the copy was made) exists because that receiver offered no TLS: its
          // code goes as its notice did (opportunistic, TLS when offered), or it would wait
          // for TLS forever. A copy deposited when the message was queued keeps `forced`
          // (docs/THREAT_MODEL.md).
          if (*policy == mail::policy::Policy::forced) {
            auto recipients = db.mail().list_recipients_blocking(copy.message_id);
            if (!recipients) return core::fail(std::move(recipients).error());
            const bool fell_back = std::any_of(
                recipients->begin(), recipients->end(), [&](const store::MailRecipientRecord& r) {
                  return r.address == copy.recipient && r.state == store::MailState::dropped;
                });
            if (fell_back) *policy = mail::policy::Policy::opportunistic;
          }
          auto out = mail::queue::code_mail(copy, code, *policy);
          if (!out) return core::fail(std::move(out).error());
          auto id = outbox->enqueue_blocking(*out, "local");
          core::secure_wipe(out->text_body.data(), out->text_body.size());
          if (!id) return core::fail(std::move(id).error());
          return core::ok();
        });
  }
  auto notice_sender = mail::Address::parse(config->mail.default_sender);
  if (outbox && notice_sender) {
    // A secure reply goes to the copy's sender through the message-encryption chain, from
    // the server's own address (mail::queue::reply_mail).
    portal.set_secure_reply_sender(
        [outbox = outbox.get(), from = *notice_sender, &clock](
            const store::SecureMessageRecord& copy, std::string_view text,
            const portal::InSameUnit& also) -> core::Result<std::string> {
          auto out = mail::queue::reply_mail(copy, text, from, clock.now());
          if (!out) return core::fail(std::move(out).error());
          auto id = outbox->enqueue_blocking(*out, "portal", also);
          core::secure_wipe(out->text_body.data(), out->text_body.size());
          return id;
        });
  }
  http::Router router;
  // S5: the form's `notify` addresses hear of each new submission (notices.hpp); F14: the
  // submitter gets the copy they asked for (submitter_copies.hpp).
  auto portal_url = std::make_shared<std::string>();
  StoredObserver on_stored;
  auto copy_limits = std::make_shared<CopyLimits>(clock);
  if (outbox && notice_sender) {
    on_stored = [&forms, &pool, &clock, &store, outbox = outbox.get(), from = *notice_sender,
                 portal_url, copy_limits](const std::string& form_id, const std::string& reference,
                                          const std::shared_ptr<forms::SubmitterCopy>& copy,
                                          const std::shared_ptr<core::SecretBytes>& notify_text) {
      auto catalog = forms.catalog();
      const auto* form = catalog ? intake::find_form(*catalog, form_id) : nullptr;
      if (form == nullptr) return false;
      if (!form->declaration.notify.empty()) {
        const bool posted = pool.post([outbox, &store, decl = form->declaration, from,
                                       url = *portal_url + "/portal/", at = clock.now(), form_id,
                                       reference, notify_text] {
          std::optional<store::StoredSubmission> stored;
          if (decl.notify_mode == forms::NotifyMode::pgp) {
            // S5: the submission as stored (committed before this runs), attached.
            auto got = store->submissions().get_submission_blocking(form_id, reference);
            if (!got || !got->has_value()) {
              spdlog::error(
                  "event=notice_failed form={} reference={} detail={}", form_id, reference,
                  got ? "the submission is not stored" : core::log_safe(got.error().detail()));
              return;
            }
            stored = std::move(**got);
          }
          auto out = submission_notice(decl, reference, from, url, at,
                                       stored ? &stored->ciphertext : nullptr, notify_text.get());
          auto id = outbox->enqueue_blocking(out, "local");
          core::secure_wipe(out.text_body.data(), out.text_body.size());
          if (notify_text) notify_text->wipe();
          if (!id && out.method) {
            // S/MIME refused (a certificate expired or revoked since `form add`): the
            // staff still hear of the submission, by the PHI-free notice.
            spdlog::warn("event=notice_smime_failed form={} reference={} detail={}", form_id,
                         reference, core::log_safe(id.error().public_text()));
            out = submission_notice(decl, reference, from, url, at);
            id = outbox->enqueue_blocking(out, "local");
          }
          if (!id) {
            spdlog::error("event=notice_failed form={} reference={} detail={}", form_id, reference,
                          core::log_safe(id.error().public_text()));
            return;
          }
          spdlog::info("event=notice_queued form={} reference={} message={} recipients={}", form_id,
                       reference, *id, out.to.size());
        });
        if (!posted) spdlog::error("event=notice_failed form={} detail=pool_full", form_id);
      }
      // F14. Never the address or the content in a log line: the form and reference only.
      if (!copy) return false;
      auto to = mail::Address::parse(copy->address);
      if (!to) {
        spdlog::warn("event=submitter_copy_refused form={} reference={} reason=address", form_id,
                     reference);
        return false;
      }
      if (!copy_limits->allow(copy->address)) {
        spdlog::warn("event=submitter_copy_refused form={} reference={} reason=rate", form_id,
                     reference);
        return false;
      }
      const bool posted = pool.post([outbox, copy, from, to = *to, form_id, reference] {
        auto out = submitter_copy_mail(*copy, from, to);
        auto id = outbox->enqueue_blocking(out, "local");
        core::secure_wipe(out.text_body.data(), out.text_body.size());
        copy->text.wipe();
        if (!id) {
          spdlog::error("event=submitter_copy_failed form={} reference={} detail={}", form_id,
                        reference, core::log_safe(id.error().public_text()));
          return;
        }
        spdlog::info("event=submitter_copy_queued form={} reference={} message={}", form_id,
                     reference, *id);
      });
      if (!posted) {
        spdlog::error("event=submitter_copy_refused form={} reference={} reason=pool_full", form_id,
                      reference);
      }
      return posted;
    };
  }
  register_form_routes(
      router, forms, pool, rng, config->file_drop_dir,
      [&metrics](intake::PostOutcome::Kind kind) { metrics.observe_submission(kind); }, on_stored);
  register_portal_routes(router, portal, pool, clock, budgets.credential_checks.get());
  register_api_routes(router, messages_api, pool);
  register_contact_routes(router, contacts_api, pool);
  register_unsubscribe_routes(router, *store, auditor, *contacts_key, clock, pool, rng);

  net::io_context io(static_cast<int>(io_threads));
  // Blocked networks (F10) are refused on every route above, from the first request on.
  BlockGuard blocks(io, *store, pool, auditor, clock, rng, config->abuse, budgets.abuse);
  if (auto s = blocks.install_blocking(router); !s) return fail_line(s.error().public_text());
  http::ServerOptions options;
  options.limits = config->limits;
  options.https_listen = config->https_listen;
  options.http_listen = config->http_listen;
  options.public_origin = config->public_origin;
  options.trusted_proxies = http::TrustedProxies(config->trusted_proxies);
  options.proxy_protocol = config->proxy_protocol;
  options.on_response = [&metrics](const http::ResponseRecord& r) { metrics.observe_response(r); };
  http::Server server(
      io, *tls, router, options,
      [&rng](unsigned status, std::string_view id) { return status_page(status, id, rng); }, rng);
  if (auto s = server.start(); !s) return fail_line(s.error().public_text());
  portal.set_origin(server.public_origin());
  *portal_url = server.public_origin();
  mail::submission::Server submission(
      io, *tls, submitter, pool,
      mail::submission::ServerOptions{.listen = config->submission.listen,
                                      .tls_listen = config->submission.tls_listen,
                                      .hostname = mail_hostname(*config)});
  if (auto s = submission.start(); !s) return fail_line(s.error().public_text());

  // O3: health, readiness and metrics on their own listener (docs/OPERATIONS.md).
  metrics.set_samplers({.pool_queued = [&pool] { return pool.queued(); },
                        .open_connections = [&server] { return server.open_connections(); },
                        .commit_pending = [&store] { return store->pending_appends(); }});
  auto readiness = std::make_shared<Readiness>(io, *store, pool, forms, *config, metrics, clock);
  http::Router admin_router;
  register_admin_routes(admin_router, readiness, metrics);
  std::optional<http::AdminServer> admin;
  if (!config->admin_listen.empty()) {
    admin.emplace(io, admin_router, config->admin_listen);
    if (auto s = admin->start(); !s) return fail_line(s.error().public_text());
  }
  if (audit_chain_broken) readiness->add_alert("audit_chain_broken");
  readiness->start_periodic(std::chrono::seconds(15));

  auto reloader = std::make_shared<CatalogReloader>(io, forms, *store, *config, *signing_key, pool,
                                                    crypto_threads, rng);
  reloader->start();

  // Outbound mail (issue 8): this node takes its share of the shared queue. Declared after
  // the io_context, so that its timers go first.
  std::unique_ptr<mail::queue::Delivery> delivery;
  if (mail_broken) readiness->add_alert("mail_disabled");
  if (mail_signer) {
    auto options = delivery_options(*config, mail_hostname(*config), rng);
    options.sealer = &sealer;  // policy forced's fallback (issue 9)
    options.escrow = &escrow;  // ... and, for keyless recipients, the portal
    options.on_attempt = [&metrics](const store::MailAttempt& a) {
      metrics.count_mail_attempt(store::mail_state_name(a.result),
                                 a.verified.empty() ? "none" : a.verified);
    };
    delivery =
        std::make_unique<mail::queue::Delivery>(io, *store, pool, *resolver, *mail_queue_key,
                                                *mail_signer, auditor, clock, std::move(options));
    delivery->start();
  }
  // Webhooks (issue 9 point 7): this node takes its share of the shared delivery queue. It
  // needs the resolver (mail::https) and the queue key (the secrets are sealed under it).
  std::unique_ptr<webhooks::Sender> webhook_sender;
  if (resolver) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    webhook_sender = std::make_unique<webhooks::Sender>(
        *store, *resolver, *mail_queue_key, clock,
        webhooks::SenderOptions{.node_id = fmt::format("{}/{}/webhooks", host, ::getpid()),
                                .ca_file = config->mail.ca_file});
    webhook_sender->start();
  }
  // Campaigns (issue 11): this node sends its share (one node per campaign, by lease).
  std::unique_ptr<campaigns::CampaignSender> campaign_sender;
  if (outbox && !config->public_origin.empty()) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    campaign_sender = std::make_unique<campaigns::CampaignSender>(
        *store, auditor, *outbox, *contacts_key, clock,
        campaigns::SenderSettings{
            .node_id = fmt::format("{}/{}/campaigns", host, ::getpid()),
            .public_origin = config->public_origin,
            .purposes = config->contacts.purposes,
            .per_domain_per_minute = static_cast<double>(config->contacts.per_domain_per_minute)});
    campaign_sender->start();
  }
  // A3: the shared queue's backlog, watched whether or not this node delivers.
  auto mail_monitor = std::make_shared<MailMonitor>(
      io, *store, pool, auditor, metrics, readiness, clock,
      MailMonitor::Thresholds{
          .recipients = static_cast<std::int64_t>(config->mail.backlog_alert_recipients),
          .age = config->mail.backlog_alert_age},
      std::chrono::seconds(10));
  if (mail_signer) {
    // Hourly: TLS-RPT (RFC 8460) yesterday's reports, once a day, by whichever node claims
    // each; the portal's copies past their time.
    mail_monitor->set_hourly([&, owner = "node:" + std::to_string(::getpid())] {
      core::SystemRng report_rng;
      const std::int64_t today = mail::queue::utc_day(core::unix_seconds(clock.now()));
      auto sent = mail::queue::send_tls_reports_blocking(
          today - 86400, *store, *resolver, *mail_signer, *mail_queue_key, auditor,
          tls_report_options(*config, owner), clock, report_rng);
      if (!sent) {
        spdlog::warn("event=tls_report_failed detail={}", core::log_safe(sent.error().detail()));
      }
      // The portal's expired and revoked copies lose their content (the rows stay).
      auto erased = mail::queue::prune_portal_copies_blocking(
          *store, auditor, core::unix_seconds(clock.now()), "system", "local");
      if (!erased) {
        spdlog::warn("event=secure_message_prune_failed detail={}",
                     core::log_safe(erased.error().detail()));
      } else if (*erased > 0) {
        spdlog::info("event=secure_message_pruned copies={}", *erased);
      }
    });
  }
  mail_monitor->start();
  // Weak: the reloader (its timer) must go before the io_context, the portal lives longer.
  portal.set_after_change([weak = std::weak_ptr<CatalogReloader>(reloader)] {
    if (auto r = weak.lock()) r->refresh_blocking();
  });
  blocks.start();

  net::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int signo) {
        if (ec) return;
        if (signo == SIGHUP) {
          reloader->poke();
          signals.async_wait(on_signal);
          return;
        }
        spdlog::info("event=draining signal={}", signo);
        notify_systemd_stopping();
        reloader->stop();
        if (delivery) delivery->stop([] { spdlog::info("event=mail_delivery_stopped"); });
        mail_monitor->stop();
        readiness->stop();
        if (admin) admin->drain();
        blocks.stop();
        submission.drain();
        server.drain();
      };
  signals.async_wait(on_signal);

  // Tests and scripts read these lines to find the ports (port 0 = any free port).
  std::printf("listening https %s:%u\n",
              config->https_listen.substr(0, config->https_listen.rfind(':')).c_str(),
              server.https_port());
  if (server.http_port() != 0) {
    std::printf("listening http %s:%u\n",
                config->http_listen.substr(0, config->http_listen.rfind(':')).c_str(),
                server.http_port());
  }
  if (admin) {
    std::printf("listening admin %s:%u\n",
                config->admin_listen.substr(0, config->admin_listen.rfind(':')).c_str(),
                admin->port());
  }
  if (submission.port() != 0) {
    std::printf("listening submission %s:%u\n",
                config->submission.listen.substr(0, config->submission.listen.rfind(':')).c_str(),
                submission.port());
  }
  if (submission.tls_port() != 0) {
    std::printf(
        "listening submissions %s:%u\n",
        config->submission.tls_listen.substr(0, config->submission.tls_listen.rfind(':')).c_str(),
        submission.tls_port());
  }
  std::printf("forms at %s/f/<form id>\n", server.public_origin().c_str());
  std::printf("portal at %s/portal/\n", server.public_origin().c_str());
  std::fflush(stdout);
  spdlog::info("event=started https_port={} http_port={} forms={}", server.https_port(),
               server.http_port(), (*catalog)->forms.size());
  notify_systemd_ready();  // every listener is bound

  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < io_threads; ++i) threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads) t.join();
  // The exchange in progress ends (at most its deadline); this node's leases are released.
  if (webhook_sender) webhook_sender->stop();
  if (campaign_sender) campaign_sender->stop();

  // The event loop ran dry: every connection is closed. Finish encryption jobs, then let
  // the store commit what it accepted.
  pool.stop();
  periodic.stop();
  // Closing entry and checkpoint: a truncation of everything up to here is detectable.
  int rc = 0;
  if (auto s = auditor.record_blocking("system", "serve.stop", "server", "local", "ok"); !s) {
    spdlog::error("event=audit_failed detail={}", core::log_safe(s.error().detail()));
    rc = 1;
  } else if (auto c = auditor.checkpoint_blocking(); !c) {
    spdlog::error("event=audit_checkpoint_failed detail={}", core::log_safe(c.error().detail()));
    rc = 1;
  }
  store->close();
  spdlog::info("event=stopped");
  return rc;
}

}  // namespace app
