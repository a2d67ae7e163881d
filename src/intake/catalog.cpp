// Trust: our own store (forms, keys) and the configuration; a stored form or key that no longer
// parses is logged and left out, a misconfigured recovery key stops the server.
#include "intake/catalog.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/log.hpp"
#include "intake/detail/pages.hpp"
#include "intake/recipients.hpp"

namespace intake {

using core::ErrorKind;

const LoadedForm* find_form(const Catalog& catalog, std::string_view id) {
  auto it = catalog.forms.find(id);
  if (it == catalog.forms.end() || !it->second.enabled) return nullptr;
  return &it->second;
}

core::Result<std::shared_ptr<const Catalog>> load_catalog_blocking(
    store::Store& store, const std::string& recovery_fingerprint,
    const core::SecretBytes& signing_key, core::TimePoint now, std::size_t encryptor_contexts,
    core::Rng& rng) {
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
  if (!recovery_fingerprint.empty()) {
    auto fpr = crypto::Fingerprint::parse(recovery_fingerprint);
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
    detail::cache_pages(form, rng);
    catalog->forms.emplace(fv.form_id, std::move(form));
  }

  auto encryptor = crypto::RnpEncryptor::create(armored, signing_key, encryptor_contexts);
  if (!encryptor) return core::fail(encryptor.error());
  catalog->encryptor = std::move(*encryptor);
  return std::shared_ptr<const Catalog>(std::move(catalog));
}

}  // namespace intake
