#include "app/commands.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "app/cli_support.hpp"
#include "app/config.hpp"
#include "app/data_dir.hpp"
#include "app/files.hpp"
#include "app/mail_commands.hpp"
#include "app/self_signed.hpp"
#include "app/store_setup.hpp"
#include "audit/auditor.hpp"
#include "audit/checkpoint_log.hpp"
#include "audit/entry.hpp"
#include "auth/email.hpp"
#include "core/clock.hpp"
#include "core/encoding.hpp"
#include "core/log.hpp"
#include "core/rng.hpp"
#include "crypto/openpgp.hpp"
#include "forms/declaration.hpp"
#include "forms/reference.hpp"
#include "http/client_address.hpp"
#include "intake/recipients.hpp"
#include "mail/mime/address.hpp"
#include "mail/secure/recipients.hpp"
#include "portal/roles.hpp"
#include "portal/users.hpp"
#include "store/port.hpp"
#include "store/store.hpp"

namespace app {

namespace fs = std::filesystem;
using core::ErrorKind;

int fail_line(const std::string& message) {
  // One line, whatever the message holds.
  std::string line = message;
  for (auto& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  std::fprintf(stderr, "sealpost: %s\n", line.c_str());
  return 1;
}

namespace {

std::string date_of(std::int64_t unix_seconds) {
  std::time_t t = unix_seconds;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

// User ids come from key files: escape control bytes so a crafted id cannot drive the
// administrator's terminal (escape sequences) or fake extra output lines.
std::string printable_user_id(const std::vector<std::string>& user_ids) {
  if (user_ids.empty()) return "(no user id)";
  std::string out;
  for (unsigned char c : user_ids.front()) {
    if (c < 0x20 || c == 0x7F) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

int run_init(const std::string& data_dir, const std::string& hostname, const std::string& database,
             const std::string& database_password_file) {
  DataDir dir(data_dir);
  core::SystemRng rng;
  std::error_code ec;
  if (!database.empty()) {
    if (auto s = store::check_database_uri(database); !s) return fail_line(s.error().public_text());
    // It is written into sealpost.toml as a basic string.
    if (database.find_first_of("\"\\\r\n") != std::string::npos) {
      return fail_line("the database URI must not contain quotes, backslashes or line breaks");
    }
  } else if (!database_password_file.empty()) {
    return fail_line("--database-password-file needs --database");
  }
  if (fs::exists(dir.root()) && !fs::is_empty(dir.root(), ec)) {
    return fail_line(data_dir + " already exists and is not empty; refusing to overwrite it");
  }
  fs::create_directories(dir.root(), ec);
  if (ec) return fail_line("cannot create " + data_dir + ": " + ec.message());
  ::chmod(dir.root().c_str(), 0700);
  fs::create_directories(dir.secrets_dir(), ec);
  fs::create_directories(dir.tls_certificate().parent_path(), ec);
  if (ec) return fail_line("cannot create directories in " + data_dir + ": " + ec.message());
  ::chmod(dir.secrets_dir().c_str(), 0700);
  ::chmod(dir.tls_certificate().parent_path().c_str(), 0700);

  auto cert = make_self_signed(hostname);
  if (!cert) return fail_line(cert.error().public_text());
  if (auto s = write_file(dir.tls_certificate(), cert->certificate_pem, 0644, true, rng); !s) {
    return fail_line(s.error().public_text());
  }
  if (auto s = write_file(dir.tls_private_key(), cert->private_key_pem.as_string_view(), 0600, true,
                          rng);
      !s) {
    return fail_line(s.error().public_text());
  }

  core::SecretBytes token_key(32);
  rng.fill(token_key.mutable_view());
  if (auto s = write_file(dir.form_token_secret(), token_key.as_string_view(), 0600, true, rng);
      !s) {
    return fail_line(s.error().public_text());
  }

  if (auto seal = load_or_create_seal_key(dir.portal_seal_key(), rng); !seal) {
    return fail_line(seal.error().public_text());
  }
  // Made here, not at the first serve: a node is a copy of this directory, and every node
  // must seal and open queued mail, and contacts' fields, with the same keys.
  if (auto queue = load_or_create_seal_key(dir.queue_key(), rng); !queue) {
    return fail_line(queue.error().public_text());
  }
  if (auto contacts = load_or_create_seal_key(dir.contacts_key(), rng); !contacts) {
    return fail_line(contacts.error().public_text());
  }

  auto signing = crypto::generate_signing_key("sealpost server <sealpost@" + hostname + ">");
  if (!signing) return fail_line(signing.error().public_text());
  if (auto s = write_file(dir.signing_secret_key(), signing->secret_armored.as_string_view(), 0600,
                          true, rng);
      !s) {
    return fail_line(s.error().public_text());
  }
  if (auto s = write_file(dir.signing_public_key(), signing->public_armored, 0644, true, rng); !s) {
    return fail_line(s.error().public_text());
  }
  if (!database_password_file.empty()) {
    auto password = read_secret_file(database_password_file, 1024);
    if (!password) return fail_line(password.error().public_text());
    if (auto s = write_file(dir.database_password(), password->as_string_view(), 0600, true, rng);
        !s) {
      return fail_line(s.error().public_text());
    }
  }
  if (auto s = write_file(dir.config(), default_config_text(database), 0600, true, rng); !s) {
    return fail_line(s.error().public_text());
  }
  auto config = load_config(dir);
  if (!config) return fail_line(config.error().public_text());
  auto store = open_configured_store_blocking(dir, *config);
  if (!store) {
    // Nothing of this directory is in use yet: leave no half-made data directory behind.
    fs::remove_all(dir.root(), ec);
    const std::string where = config->database.empty() ? dir.database().string()
                                                       : store::describe_database(config->database);
    return fail_line(store.error().public_text() + " (" + where + ")");
  }
  (*store)->close();

  std::printf("Created %s\n", data_dir.c_str());
  std::printf("  configuration:      %s\n", dir.config().c_str());
  std::printf("  TLS certificate:    %s (self-signed for %s)\n", dir.tls_certificate().c_str(),
              hostname.c_str());
  std::printf("  server signing key: %s (fingerprint %s)\n", dir.signing_public_key().c_str(),
              signing->fingerprint.hex().c_str());
  std::printf(
      "Next: sealpost key import --data %s KEYFILE; sealpost form add --data %s FORM.toml\n"
      "      sealpost user add --data %s --email YOU@EXAMPLE.ORG --role admin\n",
      data_dir.c_str(), data_dir.c_str(), data_dir.c_str());
  return 0;
}

int run_key_import(const std::string& data_dir, const std::string& file) {
  DataDir dir(data_dir);
  auto text = read_file(file, crypto::kMaxKeyFileBytes);
  if (!text) return fail_line(text.error().public_text());
  core::SystemClock clock;
  auto now = clock.now();
  auto keys = crypto::parse_public_keys(bytes_of(*text), now);
  if (!keys) return fail_line(file + ": " + keys.error().public_text());
  auto store = open_store(dir);
  if (!store) return fail_line(store.error().public_text());
  auto audit = CliAudit::open(dir, **store);
  if (!audit) return fail_line(audit.error().public_text());
  for (const auto& key : *keys) {
    store::KeyRecord record;
    record.fingerprint = key.info.fingerprint.hex();
    record.armored = key.armored;
    record.user_ids = key.info.user_ids;
    record.created_at = key.info.created_at;
    record.expires_at = key.info.expires_at;
    record.imported_at = core::unix_seconds(now);
    if (auto s = (*audit)->change("import key", "key.import",
                                  [&](store::Store& tx) -> core::Result<std::string> {
                                    if (auto put = tx.forms().put_key_blocking(record); !put)
                                      return core::fail(put.error());
                                    return "key:" + record.fingerprint;
                                  });
        !s) {
      return fail_line(s.error().public_text());
    }
    auto usable = crypto::check_recipient(key.info, now);
    std::printf(
        "%s %s%s\n", record.fingerprint.c_str(), printable_user_id(key.info.user_ids).c_str(),
        usable ? "" : ("  [cannot be a recipient: " + usable.error().public_text() + "]").c_str());
  }
  if (auto s = (*audit)->finish(); !s) return fail_line(s.error().public_text());
  (*store)->close();
  return 0;
}

int run_key_list(const std::string& data_dir) {
  DataDir dir(data_dir);
  auto store = open_store(dir);
  if (!store) return fail_line(store.error().public_text());
  auto keys = (*store)->forms().list_keys_blocking();
  if (!keys) return fail_line(keys.error().public_text());
  for (const auto& k : *keys) {
    std::printf("%s %s created %s%s\n", k.fingerprint.c_str(),
                printable_user_id(k.user_ids).c_str(), date_of(k.created_at).c_str(),
                k.expires_at ? (" expires " + date_of(*k.expires_at)).c_str() : "");
  }
  (*store)->close();
  return 0;
}

int run_form_add(const std::string& data_dir, const std::string& file) {
  DataDir dir(data_dir);
  auto text = read_file(file, forms::kMaxDeclarationBytes);
  if (!text) return fail_line(text.error().public_text());
  auto decl = forms::parse_declaration(*text);
  if (!decl) return fail_line(file + ": " + decl.error().public_text());
  if (!decl->notify.empty()) {
    // M9: no notices configured to a domain that does not do TLS.
    auto config = load_config(dir);
    if (!config) return fail_line(config.error().public_text());
    if (auto s = check_notify_tls(*config, decl->notify); !s) {
      return fail_line(file + ": " + s.error().public_text());
    }
  }
  auto store = open_store(dir);
  if (!store) return fail_line(store.error().public_text());
  core::SystemClock clock;
  auto now = clock.now();
  std::vector<std::string> recipient_user_ids;  // for notify_mode = "pgp"
  for (const auto& r : decl->recipients) {
    auto fpr = crypto::Fingerprint::parse(r);
    if (!fpr) return fail_line(file + ": recipient \"" + r + "\": " + fpr.error().public_text());
    intake::KeyInfos keys;
    auto key = (*store)->forms().find_key_blocking(fpr->hex());
    if (!key) return fail_line(key.error().public_text());
    if (key->has_value()) {
      auto info = intake::stored_key_info(**key, now);
      if (!info) return fail_line(info.error().public_text());
      recipient_user_ids.insert(recipient_user_ids.end(), info->user_ids.begin(),
                                info->user_ids.end());
      keys.emplace(fpr->hex(), std::move(*info));
    }
    if (auto s = intake::check_recipient_key(keys, fpr->hex(), now); !s) {
      std::string hint = key->has_value() ? "" : " (use `sealpost key import` first)";
      return fail_line(file + ": recipient " + s.error().public_text() + hint);
    }
  }
  if (decl->notify_mode == forms::NotifyMode::pgp) {
    // S5: the notice carries the submission as stored, encrypted to the form's recipients:
    // each notified address must hold one of their keys, or it could not open it.
    for (const auto& a : decl->notify) {
      auto address = mail::Address::parse(a);
      const bool named =
          address && std::any_of(recipient_user_ids.begin(), recipient_user_ids.end(),
                                 [&](const std::string& uid) {
                                   return mail::secure::user_id_names(uid, *address);
                                 });
      if (!named) {
        return fail_line(file + ": notify address " + a +
                         " is not in a user id of any of the form's recipient keys: with "
                         "notify_mode = \"pgp\" it could not decrypt what it is sent");
      }
    }
  }
  if (decl->notify_mode == forms::NotifyMode::smime) {
    // S5: each notified address must have a certificate the notice can be encrypted to now
    // (checked again when each notice is sent: one that has gone bad then gets the link).
    auto config = load_config(dir);
    if (!config) return fail_line(config.error().public_text());
    auto smime = load_smime_setup(*config);
    if (!smime) return fail_line(smime.error().public_text());
    std::vector<mail::Address> to;
    for (const auto& a : decl->notify) {
      if (auto address = mail::Address::parse(a)) to.push_back(*address);
    }
    auto chosen = mail::secure::choose_blocking((*store)->forms(), to, smime->ca_pem, now,
                                                mail::secure::Method::smime);
    if (!chosen) {
      return fail_line(file + ": notify_mode = \"smime\": " + chosen.error().public_text() +
                       " (use `sealpost cert import` first)");
    }
  }
  auto audit = CliAudit::open(dir, **store);
  if (!audit) return fail_line(audit.error().public_text());
  int version = 0;
  if (auto s = (*audit)->change("add form version", "form.add",
                                [&](store::Store& tx) -> core::Result<std::string> {
                                  // Staff granted the form in the portal stay recipients of the new
                                  // version.
                                  auto granted = portal::granted_recipients_blocking(tx, decl->id);
                                  if (!granted) return core::fail(granted.error());
                                  auto made = tx.forms().add_form_version_blocking(
                                      decl->id, *text, core::unix_seconds(now), *granted);
                                  if (!made) return core::fail(made.error());
                                  version = *made;
                                  return "form:" + decl->id + " v " + std::to_string(version);
                                });
      !s) {
    return fail_line(s.error().public_text());
  }
  if (auto s = (*audit)->finish(); !s) return fail_line(s.error().public_text());
  std::printf("form %s version %d added: /f/%s\n", decl->id.c_str(), version, decl->id.c_str());
  (*store)->close();
  return 0;
}

int run_form_list(const std::string& data_dir) {
  DataDir dir(data_dir);
  auto store = open_store(dir);
  if (!store) return fail_line(store.error().public_text());
  auto forms = (*store)->forms().latest_forms_blocking();
  if (!forms) return fail_line(forms.error().public_text());
  for (const auto& f : *forms) {
    auto count = (*store)->submissions().count_submissions_blocking(f.form_id);
    std::printf("%s version %d %s submissions %zu\n", f.form_id.c_str(), f.version,
                f.enabled ? "enabled" : "disabled", count ? *count : 0);
  }
  (*store)->close();
  return 0;
}

int run_form_show(const std::string& data_dir, const std::string& form_id) {
  DataDir dir(data_dir);
  auto store = open_store(dir);
  if (!store) return fail_line(store.error().public_text());
  auto form = (*store)->forms().latest_form_blocking(form_id);
  if (!form) return fail_line(form.error().public_text());
  if (!form->has_value()) return fail_line("no form with id \"" + form_id + "\"");
  std::printf("# form %s version %d (%s), added %s\n", (*form)->form_id.c_str(), (*form)->version,
              (*form)->enabled ? "enabled" : "disabled", date_of((*form)->created_at).c_str());
  std::fwrite((*form)->declaration.data(), 1, (*form)->declaration.size(), stdout);
  (*store)->close();
  return 0;
}

int run_form_disable(const std::string& data_dir, const std::string& form_id) {
  DataDir dir(data_dir);
  auto store = open_store(dir);
  if (!store) return fail_line(store.error().public_text());
  auto audit = CliAudit::open(dir, **store);
  if (!audit) return fail_line(audit.error().public_text());
  if (auto s = (*audit)->change(
          "disable form", "form.disable",
          [&](store::Store& tx) -> core::Result<std::string> {
            if (auto off = tx.forms().set_form_enabled_blocking(form_id, false); !off)
              return core::fail(off.error());
            return "form:" + form_id;
          });
      !s) {
    return fail_line(s.error().public_text());
  }
  if (auto s = (*audit)->finish(); !s) return fail_line(s.error().public_text());
  std::printf("form %s disabled\n", form_id.c_str());
  (*store)->close();
  return 0;
}

int run_export(const std::string& data_dir, const std::string& form_id, const std::string& out,
               const std::optional<std::string>& since) {
  DataDir dir(data_dir);
  core::SystemRng rng;
  auto store = open_store(dir);
  if (!store) return fail_line(store.error().public_text());
  auto form = (*store)->forms().latest_form_blocking(form_id);
  if (!form) return fail_line(form.error().public_text());
  if (!form->has_value()) return fail_line("no form with id \"" + form_id + "\"");
  auto audit = CliAudit::open(dir, **store);
  if (!audit) return fail_line(audit.error().public_text());
  constexpr std::size_t kBatch = 500;  // bounds memory whatever the form's size

  // First pass: what this export will hand out (count, and the last seq, so submissions
  // arriving meanwhile are not exported unrecorded). The audit entry is written before
  // any file: an export that cannot be recorded does not happen.
  std::size_t to_export = 0;
  std::int64_t last_seq = 0;
  {
    std::optional<std::string> after = since;
    for (;;) {
      auto batch = (*store)->submissions().list_submissions_blocking(form_id, after, kBatch);
      if (!batch) return fail_line(batch.error().public_text());
      to_export += batch->size();
      if (!batch->empty()) last_seq = batch->back().meta.seq;
      if (batch->size() < kBatch) break;
      after = batch->back().meta.reference;
    }
  }
  std::string object = "form:" + form_id + " count=" + std::to_string(to_export);
  if (since) object += " since=" + *since;
  if (auto s = (*audit)->record("submission.export", object); !s) {
    return fail_line("export not recorded in the audit trail, nothing written: " +
                     s.error().public_text());
  }

  std::error_code ec;
  fs::create_directories(out, ec);
  if (ec) return fail_line("cannot create " + out + ": " + ec.message());
  std::optional<std::string> after = since;
  std::size_t written = 0;
  for (;;) {
    auto batch = (*store)->submissions().list_submissions_blocking(form_id, after, kBatch);
    if (!batch) return fail_line(batch.error().public_text());
    bool past_recorded = false;
    for (const auto& s : *batch) {
      if (s.meta.seq > last_seq) {
        past_recorded = true;
        break;
      }
      // The database is not trusted to name files: a reference that is not of our own
      // shape (say "../x", written by someone with database access) stops the export.
      if (!forms::is_reference(s.meta.reference)) {
        return fail_line("the database holds a malformed reference; export stopped");
      }
      auto path = DataDir::export_file(out, s.meta.reference);
      std::string_view bytes(reinterpret_cast<const char*>(s.ciphertext.data()),
                             s.ciphertext.size());
      if (auto st = write_file(path, bytes, 0600, false, rng); !st) {
        return fail_line(st.error().public_text());
      }
      ++written;
    }
    if (past_recorded || batch->size() < kBatch) break;
    after = batch->back().meta.reference;
    std::fprintf(stderr, "exported %zu...\n", written);
  }
  if (auto s = (*audit)->finish(); !s) return fail_line(s.error().public_text());
  std::printf("exported %zu submission%s of form %s to %s\n", written, written == 1 ? "" : "s",
              form_id.c_str(), out.c_str());
  (*store)->close();
  return 0;
}

namespace {

// RNP 0.16 prints its own diagnostics for signatures it cannot check (an unknown signer,
// broken armor) straight to stderr, whatever log descriptor its context was given; a
// tampered checkpoint is an expected input of `audit verify`, whose answer must stay one
// line. So stderr points at /dev/null while verifying: the CLI is single-threaded here
// and writes its own message only after this is restored. Never used in `serve`.
class QuietStderr {
 public:
  QuietStderr() {
    std::fflush(stderr);
    saved_ = ::dup(STDERR_FILENO);
    const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (saved_ >= 0 && null >= 0) ::dup2(null, STDERR_FILENO);
    if (null >= 0) ::close(null);
  }
  ~QuietStderr() {
    std::fflush(stderr);
    if (saved_ >= 0) {
      ::dup2(saved_, STDERR_FILENO);
      ::close(saved_);
    }
  }
  QuietStderr(const QuietStderr&) = delete;
  QuietStderr& operator=(const QuietStderr&) = delete;

 private:
  int saved_ = -1;
};

}  // namespace

int run_audit_verify(const std::string& data_dir, const std::vector<std::string>& checkpoints) {
  DataDir dir(data_dir);
  auto public_key = read_file(dir.signing_public_key(), crypto::kMaxKeyFileBytes);
  if (!public_key) return fail_line(public_key.error().public_text());
  // Checkpoints from outside the database: this node's log, and any the auditor saved.
  std::vector<std::pair<std::string, std::vector<audit::Checkpoint>>> external;
  auto log = audit::read_checkpoint_lines(dir.audit_checkpoint_log());
  if (!log) return fail_line(log.error().public_text());
  external.emplace_back("the checkpoint log " + dir.audit_checkpoint_log().string(),
                        std::move(*log));
  for (const auto& file : checkpoints) {
    if (!fs::exists(file)) return fail_line("cannot read " + file);
    auto saved = audit::read_checkpoint_lines(file);
    if (!saved) return fail_line(saved.error().public_text());
    if (saved->empty()) return fail_line(file + " holds no checkpoint");
    external.emplace_back("the saved checkpoint " + file, std::move(*saved));
  }
  auto store = open_store(dir);
  if (!store) return fail_line(store.error().public_text());
  core::Result<audit::VerifyReport> report = [&] {
    QuietStderr quiet;
    return audit::verify_audit_blocking(**store, *public_key, external);
  }();
  (*store)->close();
  if (!report) return fail_line(report.error().public_text());
  if (!report->ok) {
    return fail_line("audit trail broken at entry " + std::to_string(report->bad_seq) + ": " +
                     report->reason);
  }
  std::printf("audit trail intact: %lld entries, %lld checkpoints, last checkpoint at %lld\n",
              static_cast<long long>(report->entries), static_cast<long long>(report->checkpoints),
              static_cast<long long>(report->last_checkpoint));
  return 0;
}

int run_audit_export(const std::string& data_dir, const std::optional<std::string>& out) {
  DataDir dir(data_dir);
  core::SystemRng rng;
  auto store = open_store(dir);
  if (!store) return fail_line(store.error().public_text());
  std::string text;
  constexpr std::size_t kPage = 1000;
  std::int64_t after = 0;
  for (;;) {
    auto rows = (*store)->audit().list_audit_blocking(after, kPage);
    if (!rows) return fail_line(rows.error().public_text());
    for (const auto& r : *rows) {
      text += audit::to_json_line(audit::to_entry(r));
      text += '\n';
    }
    if (rows->size() < kPage) break;
    after = rows->back().seq;
  }
  (*store)->close();
  if (!out) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return 0;
  }
  if (auto s = write_file(*out, text, 0600, false, rng); !s)
    return fail_line(s.error().public_text());
  return 0;
}

namespace {

// The origin an enrolment link printed by the CLI starts with: [server] public_origin, else
// what `serve` derives from the HTTPS listener.
std::string cli_origin(const Config& config) {
  if (!config.public_origin.empty()) return config.public_origin;
  auto colon = config.https_listen.rfind(':');
  std::string host = config.https_listen.substr(0, colon);
  std::string port = colon == std::string::npos ? "443" : config.https_listen.substr(colon + 1);
  if (host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]" ||
      host.starts_with("127.") || host == "::1" || host == "[::1]") {
    host = "localhost";
  }
  return "https://" + host + ":" + port;
}

// Issues an enrolment link for the user with e-mail `email` and prints it: the link and its
// audit entry `what` in one unit of work. With `create_roles` (user add), the user is
// created in that same unit first, so a user never exists without the link that was
// printed for them, nor a link without its entry.
int issue_link(const DataDir& dir, store::Store& store, const std::string& email,
               std::optional<unsigned> create_roles, const char* what) {
  auto config = load_config(dir);
  if (!config) return fail_line(config.error().public_text());
  auto audit = CliAudit::open(dir, store);
  if (!audit) return fail_line(audit.error().public_text());
  core::SystemClock clock;
  core::SystemRng rng;
  std::string link;
  store::UserRecord user;
  if (auto s = (*audit)->change(
          "issue enrolment link", what,
          [&](store::Store& tx) -> core::Result<std::string> {
            if (create_roles) {
              auto id = tx.accounts().create_user_blocking(email, *create_roles,
                                                           core::unix_seconds(clock.now()));
              if (!id && id.error().kind() == ErrorKind::conflict) {
                return core::fail(ErrorKind::conflict,
                                  "user " + email +
                                      " exists; `sealpost user link` gives them a new "
                                      "enrolment link");
              }
              if (!id) return core::fail(id.error());
            }
            auto found = tx.accounts().find_user_by_email_blocking(email);
            if (!found) return core::fail(found.error());
            if (!*found) return core::fail(ErrorKind::not_found, "no user " + email);
            if ((*found)->status == store::UserStatus::disabled) {
              return core::fail(ErrorKind::invalid_input, email + " is disabled");
            }
            user = std::move(**found);
            auto issued = portal::issue_enrolment_link_blocking(
                tx, rng, user.id, config->portal.enrolment_link_lifetime, cli_origin(*config),
                clock.now());
            if (!issued) return core::fail(issued.error());
            link = std::move(*issued);
            return "user:" + user.email + " roles:" +
                   fmt::format("{}", fmt::join(portal::role_names(portal::Roles(user.roles)), ","));
          });
      !s) {
    return fail_line(s.error().public_text());
  }
  if (auto s = (*audit)->finish(); !s) return fail_line(s.error().public_text());
  const auto hours =
      std::chrono::duration_cast<std::chrono::hours>(config->portal.enrolment_link_lifetime);
  std::printf(
      "user %s (%s): enrolment link, single use, valid %lld hours:\n%s\n", user.email.c_str(),
      fmt::format("{}", fmt::join(portal::role_names(portal::Roles(user.roles)), ",")).c_str(),
      static_cast<long long>(hours.count()), link.c_str());
  return 0;
}

}  // namespace

int run_user_add(const std::string& data_dir, const std::string& email,
                 const std::vector<std::string>& roles) {
  DataDir dir(data_dir);
  auto normal = auth::normalize_email(email);
  if (!normal) return fail_line(normal.error().public_text());
  auto bits = portal::parse_roles(roles);
  if (!bits) return fail_line(bits.error().public_text());
  auto store = open_store(dir);
  if (!store) return fail_line(store.error().public_text());
  int rc = issue_link(dir, **store, *normal, bits->bits(), "user.add");
  (*store)->close();
  return rc;
}

int run_user_link(const std::string& data_dir, const std::string& email) {
  DataDir dir(data_dir);
  auto normal = auth::normalize_email(email);
  if (!normal) return fail_line(normal.error().public_text());
  auto store = open_store(dir);
  if (!store) return fail_line(store.error().public_text());
  int rc = issue_link(dir, **store, *normal, std::nullopt, "user.enrolment_link");
  (*store)->close();
  return rc;
}

int run_user_list(const std::string& data_dir) {
  DataDir dir(data_dir);
  auto store = open_store(dir);
  if (!store) return fail_line(store.error().public_text());
  auto users = (*store)->accounts().list_users_blocking();
  if (!users) return fail_line(users.error().public_text());
  auto grants = (*store)->accounts().list_grants_blocking(std::nullopt);
  if (!grants) return fail_line(grants.error().public_text());
  for (const auto& u : *users) {
    std::vector<std::string> forms;
    for (const auto& g : *grants) {
      if (g.user_id == u.id) forms.push_back(g.form_id);
    }
    const char* status = u.status == store::UserStatus::active    ? "active"
                         : u.status == store::UserStatus::invited ? "invited"
                                                                  : "disabled";
    std::printf(
        "%s %s roles:%s forms:%s key:%s\n", u.email.c_str(), status,
        fmt::format("{}", fmt::join(portal::role_names(portal::Roles(u.roles)), ",")).c_str(),
        fmt::format("{}", fmt::join(forms, ",")).c_str(),
        u.key_fingerprint ? u.key_fingerprint->c_str() : "-");
  }
  (*store)->close();
  return 0;
}

// --- block (F10) -------------------------------------------------------------------------

namespace {

// A block's reason is the administrator's note: one printable line, bounded, so that
// `block list` stays one line per block.
constexpr std::size_t kMaxBlockReasonBytes = 200;
// Ten years: anything longer is "until removed" (omit --until).
constexpr std::int64_t kMaxBlockSeconds = 10LL * 366 * 86400;

std::string date_time_of(std::int64_t unix_seconds) {
  std::time_t t = unix_seconds;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// `--until`: a duration from now ("90s", "30m", "2h", "7d") or a UTC time
// ("2026-12-31T18:00:00Z", "2026-12-31"). Must lie in the future.
core::Result<std::int64_t> parse_until(const std::string& text, std::int64_t now) {
  const auto bad = [&] {
    return core::fail(ErrorKind::invalid_input,
                      fmt::format("--until \"{}\": expected a duration (90s, 30m, 2h, 7d) or a "
                                  "UTC time (2026-12-31T18:00:00Z or 2026-12-31)",
                                  core::log_safe(text, 64)));
  };
  std::int64_t until = 0;
  if (!text.empty() && std::string_view("smhd").find(text.back()) != std::string_view::npos &&
      text.size() <= 12) {
    const std::string_view digits(text.data(), text.size() - 1);
    std::int64_t n = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size() || n <= 0) {
      return bad();
    }
    const std::int64_t unit = text.back() == 's'   ? 1
                              : text.back() == 'm' ? 60
                              : text.back() == 'h' ? 3600
                                                   : 86400;
    if (n > kMaxBlockSeconds / unit) return bad();
    until = now + n * unit;
  } else {
    std::tm tm{};
    const char* end = nullptr;
    if (text.size() == 20) end = ::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (text.size() == 10) end = ::strptime(text.c_str(), "%Y-%m-%d", &tm);
    if (end == nullptr || *end != '\0') return bad();
    until = static_cast<std::int64_t>(::timegm(&tm));
  }
  if (until <= now) {
    return core::fail(ErrorKind::invalid_input,
                      fmt::format("--until {} is not in the future", date_time_of(until)));
  }
  return until;
}

// The canonical text of a network, or a one-line error.
core::Result<std::string> canonical_cidr(const std::string& text) {
  auto network = http::Cidr::parse(text);
  if (!network) return core::fail(std::move(network).error());
  return network->to_string();
}

}  // namespace

int run_block_add(const std::string& data_dir, const std::string& cidr,
                  const std::optional<std::string>& until, const std::string& reason) {
  auto network = canonical_cidr(cidr);
  if (!network) return fail_line(network.error().public_text());
  if (reason.size() > kMaxBlockReasonBytes ||
      std::any_of(reason.begin(), reason.end(),
                  [](unsigned char c) { return c < 0x20 || c == 0x7F; })) {
    return fail_line(
        fmt::format("--reason must be one line of at most {} bytes", kMaxBlockReasonBytes));
  }
  core::SystemClock clock;
  const std::int64_t now = core::unix_seconds(clock.now());
  std::optional<std::int64_t> expires_at;
  if (until) {
    auto parsed = parse_until(*until, now);
    if (!parsed) return fail_line(parsed.error().public_text());
    expires_at = *parsed;
  }
  DataDir dir(data_dir);
  auto store = open_store(dir);
  if (!store) return fail_line(store.error().public_text());
  auto audit = CliAudit::open(dir, **store);
  if (!audit) return fail_line(audit.error().public_text());
  store::BlockRecord block{*network, reason, now, expires_at, "cli"};
  if (auto s = (*audit)->change("add block", "block.add",
                                [&](store::Store& tx) -> core::Result<std::string> {
                                  if (auto put = tx.blocks().put_block_blocking(block); !put)
                                    return core::fail(put.error());
                                  return "network:" + *network;
                                });
      !s) {
    return fail_line(s.error().public_text());
  }
  if (auto s = (*audit)->finish(); !s) return fail_line(s.error().public_text());
  std::printf("blocked %s until %s\n", network->c_str(),
              expires_at ? date_time_of(*expires_at).c_str() : "removed");
  (*store)->close();
  return 0;
}

int run_block_list(const std::string& data_dir) {
  DataDir dir(data_dir);
  auto store = open_store(dir);
  if (!store) return fail_line(store.error().public_text());
  auto blocks = (*store)->blocks().list_blocks_blocking();
  if (!blocks) return fail_line(blocks.error().public_text());
  core::SystemClock clock;
  const std::int64_t now = core::unix_seconds(clock.now());
  for (const auto& b : *blocks) {
    std::string until = b.expires_at ? date_time_of(*b.expires_at) : "removed";
    if (b.expires_at && *b.expires_at <= now) until += " (expired)";
    std::printf("%s until:%s by:%s since:%s reason:%s\n", b.cidr.c_str(), until.c_str(),
                core::log_safe(b.created_by).c_str(), date_time_of(b.created_at).c_str(),
                b.reason.empty() ? "-" : core::log_safe(b.reason).c_str());
  }
  (*store)->close();
  return 0;
}

int run_block_remove(const std::string& data_dir, const std::string& cidr) {
  auto network = canonical_cidr(cidr);
  if (!network) return fail_line(network.error().public_text());
  DataDir dir(data_dir);
  auto store = open_store(dir);
  if (!store) return fail_line(store.error().public_text());
  auto audit = CliAudit::open(dir, **store);
  if (!audit) return fail_line(audit.error().public_text());
  if (auto s = (*audit)->change("remove block", "block.remove",
                                [&](store::Store& tx) -> core::Result<std::string> {
                                  if (auto gone = tx.blocks().remove_block_blocking(*network);
                                      !gone)
                                    return core::fail(gone.error());
                                  return "network:" + *network;
                                });
      !s) {
    if (s.error().kind() == ErrorKind::not_found) {
      return fail_line(*network + " is not blocked (see `sealpost block list`)");
    }
    return fail_line(s.error().public_text());
  }
  if (auto s = (*audit)->finish(); !s) return fail_line(s.error().public_text());
  std::printf("unblocked %s\n", network->c_str());
  (*store)->close();
  return 0;
}

}  // namespace app

namespace app {

namespace {

// Sets `[store] database = "URI"` in the text of sealpost.toml, keeping every other line
// (comments included): an existing uncommented `database =` line in [store] is replaced,
// else the line goes right after the [store] header, else a [store] section is appended.
std::string with_store_database(const std::string& text, const std::string& uri) {
  const std::string line = "database = \"" + uri + "\"";
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto end = text.find('\n', start);
    lines.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  auto trimmed = [](const std::string& s) {
    const auto b = s.find_first_not_of(" \t");
    return b == std::string::npos ? std::string() : s.substr(b);
  };
  std::optional<std::size_t> header;
  bool in_store = false;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string t = trimmed(lines[i]);
    if (t.starts_with("[")) {
      in_store = t.starts_with("[store]");
      if (in_store) header = i;
      continue;
    }
    if (in_store && t.starts_with("database") &&
        trimmed(t.substr(std::string("database").size())).starts_with("=")) {
      lines[i] = line;
      header.reset();
      break;
    }
  }
  if (header) {
    lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(*header) + 1, line);
  } else if (std::none_of(lines.begin(), lines.end(), [&](const auto& l) { return l == line; })) {
    lines.push_back("[store]");
    lines.push_back(line);
  }
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    out += lines[i];
    if (i + 1 < lines.size()) out += '\n';
  }
  if (!out.ends_with('\n')) out += '\n';
  return out;
}

}  // namespace

int run_migrate(const std::string& data_dir, const std::string& target,
                const std::string& database_password_file) {
  DataDir dir(data_dir);
  core::SystemRng rng;
  auto config = load_config(dir);
  if (!config) return fail_line(config.error().public_text());
  if (!config->database.empty()) {
    return fail_line("this data directory already uses " +
                     store::describe_database(config->database) + "; migrate copies from SQLite");
  }
  if (auto s = store::check_database_uri(target); !s) return fail_line(s.error().public_text());
  if (target.find_first_of("\"\\\r\n") != std::string::npos) {
    return fail_line("the database URI must not contain quotes, backslashes or line breaks");
  }
  core::SecretBytes password;
  const auto password_path =
      database_password_file.empty() ? dir.database_password() : fs::path(database_password_file);
  if (fs::exists(password_path)) {
    auto read = read_secret_file(password_path, 1024);
    if (!read) return fail_line(read.error().public_text());
    std::string_view text = read->as_string_view();
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
    password = core::SecretBytes(text);
  } else if (!database_password_file.empty()) {
    return fail_line("cannot read " + database_password_file);
  }
  auto public_key = read_file(dir.signing_public_key(), crypto::kMaxKeyFileBytes);
  if (!public_key) return fail_line(public_key.error().public_text());

  // The source's chain first: a broken trail is not something to carry over silently.
  {
    auto source = open_configured_store_blocking(dir, *config);
    if (!source) return fail_line(source.error().public_text());
    core::Result<audit::VerifyReport> report = [&] {
      QuietStderr quiet;
      return audit::verify_audit_blocking(**source, *public_key);
    }();
    (*source)->close();
    if (!report) return fail_line(report.error().public_text());
    if (!report->ok) {
      return fail_line("the SQLite audit trail is broken at entry " +
                       std::to_string(report->bad_seq) + " (" + report->reason +
                       "); nothing was copied");
    }
  }

  std::fprintf(stderr, "migrate: copying %s to %s\n", dir.database().c_str(),
               store::describe_database(target).c_str());
  auto ported = store::port_sqlite_to_postgres_blocking(
      dir.database().string(), target, password,
      [](const std::string& table, std::int64_t done, std::int64_t total) {
        std::fprintf(stderr, "migrate: %-18s %lld/%lld rows\n", table.c_str(),
                     static_cast<long long>(done), static_cast<long long>(total));
      });
  if (!ported) return fail_line(ported.error().public_text());

  // The copy's chain, read from PostgreSQL through the store the nodes will use.
  store::StoreOptions options;
  options.database = target;
  options.password = core::SecretBytes(password.as_string_view());
  options.pool_size = 2;
  auto copy = store::open_store_blocking(options);
  if (!copy) return fail_line(copy.error().public_text());
  core::Result<audit::VerifyReport> verified = [&] {
    QuietStderr quiet;
    return audit::verify_audit_blocking(**copy, *public_key);
  }();
  (*copy)->close();
  if (!verified || !verified->ok) {
    return fail_line(
        "the audit trail does not verify on the PostgreSQL copy; the configuration was NOT "
        "switched (drop and recreate the target database before trying again)");
  }

  // Only now: the password next to the other secrets, and the configuration.
  if (!database_password_file.empty() && !password.empty()) {
    if (auto s = write_file(dir.database_password(), password.as_string_view(), 0600, false, rng);
        !s) {
      return fail_line(s.error().public_text());
    }
  }
  auto text = read_file(dir.config(), 1 << 20);
  if (!text) return fail_line(text.error().public_text());
  if (auto s = write_file(dir.config(), with_store_database(*text, target), 0600, false, rng); !s) {
    return fail_line(s.error().public_text());
  }

  std::printf("migrated %s to %s, and proved the copy:\n", dir.database().c_str(),
              store::describe_database(target).c_str());
  for (const auto& table : ported->tables) {
    std::printf("  %-18s %8lld rows  sha256 %s  identical\n", table.name.c_str(),
                static_cast<long long>(table.rows), table.sha256.c_str());
  }
  std::printf("  audit trail: %lld entries, chain intact on PostgreSQL\n",
              static_cast<long long>(verified->entries));
  std::printf(
      "sealpost.toml now says [store] database = \"%s\". The SQLite file is kept as it "
      "was; remove it once you are satisfied.\n",
      target.c_str());
  return 0;
}

}  // namespace app
