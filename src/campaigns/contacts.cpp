// Trust: the CSV file is untrusted bytes (csv.hpp bounds every record); addresses go through
// mail::mime::Address::parse; no cell is ever interpreted.
#include "campaigns/contacts.hpp"

#include <fmt/format.h>

#include <array>
#include <fstream>
#include <streambuf>
#include <unordered_set>

#include "campaigns/csv.hpp"
#include "core/encoding.hpp"
#include "core/log.hpp"
#include "crypto/aes_gcm.hpp"
#include "crypto/hmac.hpp"

namespace campaigns {

namespace {

constexpr std::string_view kImportAction = "contact.import";
constexpr std::string_view kEmailColumn = "email";

std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return std::span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

// Additional data of a sealed field: the address, a NUL (in neither), the field's name.
std::string field_aad(std::string_view address, std::string_view field) {
  std::string aad(address);
  aad.push_back('\0');
  aad.append(field);
  return aad;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Hashes every byte the CSV reader takes from the file, so that the second pass can tell
// whether it read the file the first pass checked.
class HashingBuf final : public std::streambuf {
 public:
  HashingBuf(std::streambuf& source, crypto::Sha256& hash) : source_(source), hash_(hash) {}

 protected:
  int_type underflow() override {
    const std::streamsize n = source_.sgetn(buffer_.data(), buffer_.size());
    if (n <= 0) return traits_type::eof();
    hash_.update(std::string_view(buffer_.data(), static_cast<std::size_t>(n)));
    setg(buffer_.data(), buffer_.data(), buffer_.data() + n);
    return traits_type::to_int_type(buffer_[0]);
  }

 private:
  std::streambuf& source_;
  crypto::Sha256& hash_;
  std::array<char, 64 * 1024> buffer_{};
};

struct Header {
  std::size_t email = 0;
  std::vector<std::string> names;  // by column; names[email] unused
};

core::Result<Header> read_header(const std::vector<std::string>& cells) {
  Header h;
  bool has_email = false;
  std::unordered_set<std::string> seen;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    std::string name(trim(cells[i]));
    for (char& c : name) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    if (!valid_field_name(name)) {
      return core::fail(core::ErrorKind::invalid_input,
                        fmt::format("line 1: column {} has no valid name (a-z, 0-9 and _, starting "
                                    "with a letter, at most 32)",
                                    i + 1));
    }
    if (!seen.insert(name).second) {
      return core::fail(core::ErrorKind::invalid_input,
                        fmt::format("line 1: column \"{}\" appears twice", name));
    }
    if (name == kEmailColumn) {
      has_email = true;
      h.email = i;
    }
    h.names.push_back(std::move(name));
  }
  if (!has_email) {
    return core::fail(core::ErrorKind::invalid_input, "line 1: there is no \"email\" column");
  }
  return h;
}

// One pass over the file: `row` gets each data row's line, address and cells.
struct Pass {
  std::size_t rows = 0;
  std::string digest;
};

core::Result<Pass> read_file(
    const std::filesystem::path& file, const std::function<core::Status(const Header&)>& header,
    const std::function<core::Status(std::size_t line, const std::vector<std::string>& cells)>&
        row) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return core::fail(core::ErrorKind::invalid_input,
                      fmt::format("cannot read {}", core::log_safe(file.string())));
  }
  crypto::Sha256 hash;
  HashingBuf buf(*in.rdbuf(), hash);
  std::istream hashed(&buf);
  CsvReader reader(hashed);
  std::vector<std::string> cells;
  auto first = reader.next(cells);
  if (!first) return core::fail(std::move(first).error());
  if (!*first) return core::fail(core::ErrorKind::invalid_input, "the file is empty");
  auto h = read_header(cells);
  if (!h) return core::fail(std::move(h).error());
  if (auto s = header(*h); !s) return core::fail(s.error());
  Pass pass;
  for (;;) {
    auto more = reader.next(cells);
    if (!more) return core::fail(std::move(more).error());
    if (!*more) break;
    if (cells.size() == 1 && cells[0].empty()) continue;  // a blank line
    ++pass.rows;
    if (auto s = row(reader.line(), cells); !s) return core::fail(s.error());
  }
  if (in.bad()) {
    return core::fail(core::ErrorKind::invalid_input,
                      fmt::format("reading {} failed", core::log_safe(file.string())));
  }
  pass.digest = core::to_hex(hash.finish());
  return pass;
}

}  // namespace

core::Result<std::vector<std::uint8_t>> seal_field(const core::SecretBytes& key,
                                                   std::string_view address, std::string_view field,
                                                   std::string_view value, core::Rng& rng) {
  const std::string aad = field_aad(address, field);
  return crypto::seal_aes256_gcm(key, bytes_of(aad), bytes_of(value), rng);
}

core::Result<core::SecretBytes> open_field(const core::SecretBytes& key, std::string_view address,
                                           std::string_view field,
                                           std::span<const std::uint8_t> sealed) {
  const std::string aad = field_aad(address, field);
  return crypto::open_aes256_gcm(key, bytes_of(aad), sealed);
}

core::Result<ImportReport> import_contacts_blocking(const std::filesystem::path& file,
                                                    store::Store& store, audit::Auditor& auditor,
                                                    const core::SecretBytes& contacts_key,
                                                    core::Rng& rng,
                                                    const std::optional<store::ImportGrant>& grant,
                                                    const std::string& actor, std::int64_t now,
                                                    const Progress& progress) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(file, ec);
  if (ec) {
    return core::fail(core::ErrorKind::invalid_input,
                      fmt::format("cannot read {}", core::log_safe(file.string())));
  }
  if (size > kMaxImportBytes) {
    return core::fail(core::ErrorKind::invalid_input,
                      fmt::format("the file is larger than {} bytes; split it", kMaxImportBytes));
  }

  // 1. Check every row; remember each address (a 16-byte hash of it) to find duplicates.
  ImportReport report;
  Header header;
  std::unordered_set<std::string> seen;
  auto note = [&](std::size_t line, std::string column, std::string reason) {
    ++report.error_count;
    if (report.errors.size() < kMaxReportedErrors) {
      report.errors.push_back({line, std::move(column), std::move(reason)});
    }
  };
  auto checked = read_file(
      file,
      [&](const Header& h) {
        header = h;
        return core::ok();
      },
      [&](std::size_t line, const std::vector<std::string>& cells) -> core::Status {
        if (cells.size() != header.names.size()) {
          note(line, "",
               fmt::format("{} columns, the header has {}", cells.size(), header.names.size()));
        } else if (auto address = contact_address(trim(cells[header.email])); !address) {
          note(line, std::string(kEmailColumn), "not a valid e-mail address");
        } else {
          crypto::Sha256 h;
          h.update(*address);
          const auto digest = h.finish();
          if (!seen.insert(std::string(digest.begin(), digest.begin() + 16)).second) {
            note(line, std::string(kEmailColumn), "the same address as an earlier row");
          }
        }
        if (progress && (++report.rows % kProgressEvery) == 0) progress("checked", report.rows);
        return core::ok();
      });
  if (!checked) return core::fail(std::move(checked).error());
  report.rows = checked->rows;
  report.digest = checked->digest;
  if (report.error_count > 0) return report;
  seen = {};

  // 2. Seal and stage, in batches, each its own short unit of work.
  std::array<std::uint8_t, 16> id_bytes{};
  rng.fill(id_bytes);
  const std::string import_id = core::to_hex(id_bytes);
  std::vector<store::StagedContact> batch;
  std::size_t staged = 0;
  auto flush = [&]() -> core::Status {
    if (batch.empty()) return core::ok();
    auto s = store.transact_blocking("stage contacts", [&](store::Store& tx) {
      return tx.contacts().stage_contacts_blocking(import_id, batch);
    });
    const std::size_t before = staged;
    staged += batch.size();
    batch.clear();
    if (s && progress && staged / kProgressEvery != before / kProgressEvery) {
      progress("staged", staged);
    }
    return s;
  };
  auto again = read_file(
      file, [](const Header&) { return core::ok(); },
      [&](std::size_t, const std::vector<std::string>& cells) -> core::Status {
        if (cells.size() != header.names.size()) {
          return core::fail(core::ErrorKind::invalid_input, "the file changed during the import");
        }
        auto address = contact_address(trim(cells[header.email]));
        if (!address) {
          return core::fail(core::ErrorKind::invalid_input, "the file changed during the import");
        }
        std::array<std::uint8_t, 16> contact_id{};
        rng.fill(contact_id);
        store::StagedContact c{.id = core::to_hex(contact_id), .address = *address, .fields = {}};
        for (std::size_t i = 0; i < cells.size(); ++i) {
          const std::string_view value = trim(cells[i]);
          if (i == header.email || value.empty()) continue;
          auto sealed = seal_field(contacts_key, c.address, header.names[i], value, rng);
          if (!sealed) return core::fail(std::move(sealed).error());
          c.fields.push_back({header.names[i], std::move(*sealed)});
        }
        batch.push_back(std::move(c));
        if (batch.size() == kStageBatch) return flush();
        return core::ok();
      });
  core::Status staged_all = again ? flush() : core::Status(core::fail(again.error()));
  if (staged_all && again->digest != report.digest) {
    staged_all = core::fail(core::ErrorKind::invalid_input, "the file changed during the import");
  }
  if (!staged_all) {
    (void)store.transact_blocking("drop staged contacts", [&](store::Store& tx) {
      return tx.contacts().drop_import_blocking(import_id);
    });
    return core::fail(staged_all.error());
  }

  // 3. Apply, with the audit entry, in one unit of work. Never an address in the trail.
  const std::string source = "import:" + report.digest.substr(0, 16);
  std::optional<store::ImportGrant> granted = grant;
  if (granted) {
    granted->evidence = granted->evidence.empty() ? source : source + " " + granted->evidence;
  }
  auto applied = store.transact_blocking("import contacts", [&](store::Store& tx) -> core::Status {
    auto counts = tx.contacts().apply_import_blocking(import_id, source, granted, now);
    if (!counts) return core::fail(std::move(counts).error());
    report.counts = *counts;
    return auditor.record_in_blocking(
        tx, actor, std::string(kImportAction),
        fmt::format("file:sha256:{} rows:{} added:{} updated:{} granted:{}{}", report.digest,
                    report.rows, counts->added, counts->updated, counts->granted,
                    granted ? " purpose:" + granted->purpose : ""),
        "local", "ok");
  });
  if (!applied) {
    (void)store.transact_blocking("drop staged contacts", [&](store::Store& tx) {
      return tx.contacts().drop_import_blocking(import_id);
    });
    return core::fail(applied.error());
  }
  report.applied = true;
  return report;
}

}  // namespace campaigns
