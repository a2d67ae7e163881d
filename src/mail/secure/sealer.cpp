// Trust: the entity is our own MIME (built from checked values); keys and certificates were
// checked by choose_blocking just before.
#include "mail/secure/sealer.hpp"

#include <algorithm>
#include <cstdint>
#include <span>

#include "crypto/openpgp.hpp"

namespace mail::secure {
namespace {

bool all_gcm(const std::vector<Choice>& choices) {
  return std::all_of(choices.begin(), choices.end(), [](const Choice& c) { return c.aes_gcm; });
}

// One entry per distinct key or certificate: two addresses may share one.
std::vector<std::string> distinct_material(const std::vector<Choice>& choices) {
  std::vector<std::string> ids, out;
  for (const Choice& c : choices) {
    if (std::find(ids.begin(), ids.end(), c.id) != ids.end()) continue;
    ids.push_back(c.id);
    out.push_back(c.material);
  }
  return out;
}

}  // namespace

std::string Sealer::describe(const std::vector<Choice>& choices) {
  if (choices.empty() || choices.front().method == Method::pgp_mime) return "pgp-mime";
  return all_gcm(choices) ? "smime-aes-256-gcm" : "smime-aes-256-cbc";
}

core::Result<mime::Sealing> Sealer::sealing_for(const std::vector<Choice>& choices) const {
  if (choices.empty()) {
    return core::fail(core::ErrorKind::invalid_input, "a sealed message needs a recipient");
  }
  if (choices.front().method == Method::smime) {
    if (smime_signer_ == nullptr) {
      return core::fail(core::ErrorKind::invalid_input,
                        "S/MIME is not set up on this server ([mail] smime_cert_file and "
                        "smime_key_file)");
    }
    const auto cipher =
        all_gcm(choices) ? crypto::SmimeCipher::aes256_gcm : crypto::SmimeCipher::aes256_cbc;
    return mime::Sealing{
        .envelope = mime::Envelope::smime,
        .seal = [this, &choices, cipher](std::string_view entity) -> core::Result<std::string> {
          return crypto::smime_sign_and_encrypt(entity, *smime_signer_, distinct_material(choices),
                                                cipher);
        }};
  }
  return mime::Sealing{
      .envelope = mime::Envelope::pgp_mime,
      .seal = [this, &choices](std::string_view entity) -> core::Result<std::string> {
        return crypto::sign_and_encrypt_to_keys(
            std::span(reinterpret_cast<const std::uint8_t*>(entity.data()), entity.size()),
            distinct_material(choices), openpgp_signing_key_);
      }};
}

}  // namespace mail::secure
