#pragma once
// Contacts (issue 11, C1): importing them from CSV, sealing their fields, and the purposes
// an authorisation may name. docs/OPERATIONS.md "Contacts and authorisations";
// docs/THREAT_MODEL.md "Contacts" says who can read the fields.
//
// A contact is its address (in clear: it is where mail goes, as in the queue) and fields
// (its name and attributes), each sealed with AES-256-GCM under secrets/contacts.key, the
// address and the field's name as additional data (a sealed value moved to another contact
// or field fails to open). The sending path must merge fields into messages, so the key is
// the server's: a stolen database without secrets/ reads no field; the running server can.
//
// An import is all or nothing, and never holds the file in memory:
//   1. read the whole file, checking every row (header, columns, address, duplicates);
//      any error: report them (line, column, reason, never the value) and change nothing;
//   2. read it again, sealing and staging rows in units of work of kStageBatch rows
//      (invisible to everything else), and check the file did not change meanwhile;
//   3. apply the stage in one unit of work with its audit entry `contact.import`.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "audit/auditor.hpp"
#include "campaigns/input.hpp"
#include "core/result.hpp"
#include "core/rng.hpp"
#include "core/secret.hpp"
#include "store/store.hpp"

namespace campaigns {

// `value` of `field` of the contact at `address`, sealed / opened (integrity when the key,
// the address or the field name is not the one it was sealed with).
core::Result<std::vector<std::uint8_t>> seal_field(const core::SecretBytes& key,
                                                   std::string_view address, std::string_view field,
                                                   std::string_view value, core::Rng& rng);
core::Result<core::SecretBytes> open_field(const core::SecretBytes& key, std::string_view address,
                                           std::string_view field,
                                           std::span<const std::uint8_t> sealed);

// One problem with one row; never the cell's value (it may be PHI).
struct RowError {
  std::size_t line = 0;
  std::string column;  // "" for the row as a whole
  std::string reason;
};

struct ImportReport {
  std::size_t rows = 0;          // data rows (the header excluded)
  std::vector<RowError> errors;  // the first kMaxReportedErrors
  std::size_t error_count = 0;   // all of them
  std::string digest;            // SHA-256 of the file, hex
  store::ImportCounts counts;    // when applied
  bool applied = false;
};

inline constexpr std::size_t kMaxReportedErrors = 100;
inline constexpr std::size_t kStageBatch = 1000;
// A larger file is refused before it is read (streamed, it would fit; the bound keeps one
// import to minutes).
inline constexpr std::uintmax_t kMaxImportBytes = std::uintmax_t{2} << 30;

// Called every kProgressEvery rows with the phase ("checked", "staged") and the rows so far.
inline constexpr std::size_t kProgressEvery = 10000;
using Progress = std::function<void(std::string_view phase, std::size_t rows)>;

// Runs the three steps above. `grant`, when given, is added for every contact of the file
// (its evidence names the file's digest). A report with errors has applied == false and
// changed nothing; an error result (the store, the file unreadable or changed) changed
// nothing either.
core::Result<ImportReport> import_contacts_blocking(const std::filesystem::path& file,
                                                    store::Store& store, audit::Auditor& auditor,
                                                    const core::SecretBytes& contacts_key,
                                                    core::Rng& rng,
                                                    const std::optional<store::ImportGrant>& grant,
                                                    const std::string& actor, std::int64_t now,
                                                    const Progress& progress);

}  // namespace campaigns
