// Trust: stored public keys and certificates (checked at import), checked again as of now.
#include "mail/secure/recipients.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "crypto/openpgp.hpp"
#include "crypto/smime.hpp"

namespace mail::secure {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  });
  return out;
}

std::span<const std::uint8_t> bytes_of(const std::string& s) {
  return std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

std::optional<Choice> openpgp_key(const std::vector<store::KeyRecord>& keys, const Address& to,
                                  core::TimePoint now) {
  const store::KeyRecord* best = nullptr;
  for (const store::KeyRecord& k : keys) {
    if (!std::any_of(k.user_ids.begin(), k.user_ids.end(),
                     [&](const std::string& uid) { return user_id_names(uid, to); })) {
      continue;
    }
    // Parsed as of now: a key that has expired or been replaced by a revoked copy since
    // its import no longer counts.
    auto parsed = crypto::parse_public_keys(bytes_of(k.armored), now);
    if (!parsed || parsed->size() != 1) continue;
    if (!crypto::check_recipient(parsed->front().info, now)) continue;
    if (best == nullptr || k.created_at > best->created_at) best = &k;
  }
  if (best == nullptr) return std::nullopt;
  return Choice{.method = Method::pgp_mime, .id = best->fingerprint, .material = best->armored};
}

std::optional<Choice> certificate(const std::vector<store::CertRecord>& certs, const Address& to,
                                  std::string_view ca_pem, core::TimePoint now) {
  const std::string address = lower(to.str());
  const store::CertRecord* best = nullptr;
  for (const store::CertRecord& c : certs) {
    if (std::find(c.emails.begin(), c.emails.end(), address) == c.emails.end()) continue;
    auto info = crypto::parse_certificate(bytes_of(c.pem));
    if (!info || !crypto::check_recipient_cert(*info, ca_pem, c.pinned, now)) continue;
    if (best == nullptr || c.not_after > best->not_after) best = &c;
  }
  if (best == nullptr) return std::nullopt;
  return Choice{
      .method = Method::smime, .id = best->sha256, .material = best->pem, .aes_gcm = best->aes_gcm};
}

}  // namespace

std::string_view method_name(Method m) {
  switch (m) {
    case Method::pgp_mime:
      return "pgp-mime";
    case Method::smime:
      return "smime";
  }
  return "unknown";
}

bool user_id_names(std::string_view user_id, const Address& address) {
  std::string_view inside = user_id;
  const auto open = user_id.rfind('<');
  if (open != std::string_view::npos) {
    const auto close = user_id.find('>', open);
    if (close == std::string_view::npos) return false;
    inside = user_id.substr(open + 1, close - open - 1);
  }
  auto parsed = Address::parse(inside);
  return parsed && lower(parsed->str()) == lower(address.str());
}

core::Result<std::vector<std::optional<Choice>>> choose_each_blocking(
    store::FormStore& keys, const std::vector<Address>& to, std::string_view smime_ca_pem,
    core::TimePoint now, std::optional<Method> only) {
  auto stored_keys = keys.list_keys_blocking();
  if (!stored_keys) return core::fail(std::move(stored_keys).error());
  auto stored_certs = keys.list_certs_blocking();
  if (!stored_certs) return core::fail(std::move(stored_certs).error());
  std::vector<std::optional<Choice>> out;
  out.reserve(to.size());
  for (std::size_t i = 0; i < to.size(); ++i) {
    std::optional<Choice> choice;
    if (only != Method::smime) choice = openpgp_key(*stored_keys, to[i], now);
    if (!choice && only != Method::pgp_mime) {
      choice = certificate(*stored_certs, to[i], smime_ca_pem, now);
    }
    out.push_back(std::move(choice));
  }
  return out;
}

core::Result<std::vector<Choice>> choose_blocking(store::FormStore& keys,
                                                  const std::vector<Address>& to,
                                                  std::string_view smime_ca_pem,
                                                  core::TimePoint now, std::optional<Method> only) {
  auto each = choose_each_blocking(keys, to, smime_ca_pem, now, only);
  if (!each) return core::fail(std::move(each).error());
  std::vector<Choice> out;
  out.reserve(to.size());
  for (std::size_t i = 0; i < to.size(); ++i) {
    if (!(*each)[i] && only) {
      return core::fail(core::ErrorKind::invalid_input,
                        fmt::format("recipient {} ({}) has no usable {} (none imported for this "
                                    "address, or expired, revoked or unfit for encryption)",
                                    i + 1, to[i].str(),
                                    *only == Method::smime ? "S/MIME certificate" : "OpenPGP key"));
    }
    if (!(*each)[i]) {
      return core::fail(core::ErrorKind::invalid_input,
                        fmt::format("recipient {} ({}) has no usable OpenPGP key or S/MIME "
                                    "certificate (none imported for this address, or expired, "
                                    "revoked or unfit for encryption); without one a message "
                                    "with security encrypt goes through the secure-message "
                                    "portal, which needs [server] public_origin set",
                                    i + 1, to[i].str()));
    }
    out.push_back(*std::move((*each)[i]));
  }
  return out;
}

}  // namespace mail::secure
