#pragma once
// One rule, used by `form add` and by the server's catalog, for whether an imported key may
// receive new submissions.

#include <map>
#include <string>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "crypto/openpgp.hpp"
#include "store/store.hpp"

namespace intake {

using KeyInfos = std::map<std::string, crypto::KeyInfo, std::less<>>;  // by fingerprint hex

// Reads a stored public key back into its KeyInfo as of `now`.
core::Result<crypto::KeyInfo> stored_key_info(const store::KeyRecord& key, core::TimePoint now);

// Imported, not expired, not revoked, able to encrypt at `now`. The error's public text
// names the key and the reason.
core::Status check_recipient_key(const KeyInfos& keys, const std::string& fingerprint,
                                 core::TimePoint now);

}  // namespace intake
