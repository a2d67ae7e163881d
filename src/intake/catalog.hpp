#pragma once
// The catalog: an immutable snapshot of every loaded form, its recipients and the encryptor.
// Requests copy the shared_ptr; a reload builds a new catalog and swaps the pointer.
// Trust: built from our own store (forms, keys) and the configuration.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/rng.hpp"
#include "core/secret.hpp"
#include "crypto/openpgp.hpp"
#include "forms/declaration.hpp"
#include "store/store.hpp"

namespace intake {

// A page rendered once per catalog with placeholders where the per-request values go (the
// form token, the CSP nonce, a reference number: base64url or Crockford base32, which HTML
// escaping leaves as they are). Serving it is a few string splices, not a template render.
struct CachedPage {
  struct Piece {
    std::string literal;
    enum class Slot { none, token, nonce, reference } slot = Slot::none;  // after the literal
  };
  std::vector<Piece> pieces;
  std::size_t literal_bytes = 0;
};

struct LoadedForm {
  forms::FormDeclaration declaration;
  int version = 0;
  bool enabled = true;
  // Set when the form cannot take submissions now (e.g. a recipient key expired since the
  // form was added): the form shows a "temporarily unavailable" page. Log text only.
  std::string unavailable_reason;
  std::vector<crypto::Fingerprint> recipients;  // declaration's + the recovery key
  CachedPage blank_page;                        // the form, nothing typed yet
  CachedPage thanks_page;                       // the thank-you page
};

// Everything a request needs that changes when an administrator adds a form or a key.
struct Catalog {
  std::map<std::string, LoadedForm, std::less<>> forms;
  std::shared_ptr<crypto::Encryptor> encryptor;
  std::int64_t generation = -1;
  // The earliest expiry (unix seconds) among the recipient keys in use: once it passes, the
  // catalog is rebuilt so the forms that key serves show "temporarily unavailable".
  std::optional<std::int64_t> next_key_expiry;
};

// The enabled form `id`, or null.
const LoadedForm* find_form(const Catalog& catalog, std::string_view id);

// Builds a catalog from the store (forms, keys) and the signing key. `recovery_fingerprint`
// is [recovery] key_fingerprint (empty: none). `rng` makes the page placeholders. Blocking.
core::Result<std::shared_ptr<const Catalog>> load_catalog_blocking(
    store::Store& store, const std::string& recovery_fingerprint,
    const core::SecretBytes& signing_key, core::TimePoint now, std::size_t encryptor_contexts,
    core::Rng& rng);

}  // namespace intake
