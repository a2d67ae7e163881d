#include "intake/recipients.hpp"

#include <cstdint>
#include <span>

namespace intake {

core::Result<crypto::KeyInfo> stored_key_info(const store::KeyRecord& key, core::TimePoint now) {
  auto parsed = crypto::parse_public_keys(
      std::span(reinterpret_cast<const std::uint8_t*>(key.armored.data()), key.armored.size()),
      now);
  if (!parsed || parsed->empty()) {
    return core::fail(core::ErrorKind::integrity,
                      "stored key " + key.fingerprint + " could not be read");
  }
  return parsed->front().info;
}

core::Status check_recipient_key(const KeyInfos& keys, const std::string& fingerprint,
                                 core::TimePoint now) {
  auto it = keys.find(fingerprint);
  if (it == keys.end()) {
    return core::fail(core::ErrorKind::invalid_input, "key " + fingerprint + " is not imported");
  }
  return crypto::check_recipient(it->second, now);
}

}  // namespace intake
