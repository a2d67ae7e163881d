#pragma once
// Which store a data directory uses ([store] database in sealpost.toml) and where its
// password comes from (DIR/secrets/database-password, else libpq's PGPASSFILE).

#include <memory>

#include "app/config.hpp"
#include "app/data_dir.hpp"
#include "core/result.hpp"
#include "store/store.hpp"

namespace app {

// Opens the store the configuration names. Blocking (connects, migrates).
core::Result<std::unique_ptr<store::Store>> open_configured_store_blocking(const DataDir& dir,
                                                                           const Config& config);

}  // namespace app
