#pragma once
// The public form handlers: GET /f/{id}, POST /f/{id}, GET /f/{id}/thanks/{ref}.
// Wires forms (parse, validate, render, tokens), crypto (sign + encrypt) and store (group
// commit) into the path of a submission described in docs/ARCHITECTURE.md.

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "app/config.hpp"
#include "core/blocking_pool.hpp"
#include "core/clock.hpp"
#include "core/rng.hpp"
#include "core/secret.hpp"
#include "crypto/openpgp.hpp"
#include "forms/declaration.hpp"
#include "http/rate_limiter.hpp"
#include "http/router.hpp"
#include "store/store.hpp"

namespace app {

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

// Builds a catalog from the store (forms, keys) and the signing key. Blocking.
core::Result<std::shared_ptr<const Catalog>> load_catalog_blocking(
    store::Store& store, const Config& config, const core::SecretBytes& signing_key,
    core::TimePoint now, std::size_t encryptor_contexts);

class FormService {
 public:
  FormService(const Config& config, store::Store& store, core::BlockingPool& pool,
              const core::Clock& clock, core::SecretBytes token_key);

  void set_catalog(std::shared_ptr<const Catalog> catalog);
  std::shared_ptr<const Catalog> catalog() const;

  void register_routes(http::Router& router);

  // The page for errors the HTTP layer produces itself (404, 413, ...).
  http::Response error_page(unsigned status, std::string_view request_id) const;

 private:
  void get_form(http::Request&& req, http::RequestContext&& ctx, http::Responder responder);
  void post_form(http::Request&& req, http::RequestContext&& ctx, http::Responder responder);
  void get_thanks(http::Request&& req, http::RequestContext&& ctx, http::Responder responder);

  struct Shared;
  std::shared_ptr<Shared> shared_;
};

}  // namespace app
