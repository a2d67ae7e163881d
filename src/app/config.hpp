#pragma once
// sealpost.toml: every setting, its default and its bounds (docs/OPERATIONS.md lists
// them all; keep the two in step). Secrets are never in this file, only paths to them.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "app/data_dir.hpp"
#include "core/result.hpp"
#include "http/limits.hpp"
#include "http/tls_context.hpp"
#include "intake/limits.hpp"
#include "portal/limits.hpp"

namespace app {

struct Config {
  // [server]
  std::string https_listen = "127.0.0.1:8443";
  std::string http_listen = "127.0.0.1:8080";
  std::string public_origin;       // e.g. "https://forms.example.org"; empty = from listener
  std::size_t threads = 0;         // event-loop threads; 0 = one per core
  std::size_t crypto_threads = 0;  // encryption workers; 0 = one per core
  // [tls]
  std::string tls_certificate_file;  // empty = DataDir's self-signed one
  std::string tls_private_key_file;
  http::TlsPolicy tls;
  // [limits]
  http::Limits limits;
  // [forms] token_max_age_seconds and [rate_limit]
  intake::Limits intake;
  // [store]
  // S4: also write each stored submission as REF.pgp into this directory (outside any web
  // root), for pickup by SFTP or a file share. Empty = off.
  std::string file_drop_dir;
  // [recovery]
  std::string recovery_key_fingerprint;  // S9: added to every form's recipients
  // [portal] (P2, P3): session timeouts, enrolment links, the lockout budget.
  portal::Limits portal;
  // [log]
  std::string log_level = "info";
};

// Reads DIR/sealpost.toml. Unknown keys, wrong types and out-of-bounds values are errors
// with line and column; a TLS policy that allows anything weak is refused.
core::Result<Config> load_config(const DataDir& dir);

// The commented file `sealpost init` writes.
std::string default_config_text();

}  // namespace app
