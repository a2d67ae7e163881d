// libFuzzer target: the contact import's CSV reader (campaigns::CsvReader).
// Trust: the input is an untrusted file. Besides "no crash, no sanitizer report", it checks
// what the reader promises: every record it returns is within its limits and UTF-8 without
// NUL; it stops at the first error; and every cell survives csv_cell and a second reading
// unchanged apart from the formula guard.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

#include "campaigns/csv.hpp"
#include "core/encoding.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const campaigns::CsvLimits limits{
      .max_fields = 8, .max_field_bytes = 64, .max_record_bytes = 256};
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  campaigns::CsvReader reader(in, limits);
  std::vector<std::string> fields;
  for (int records = 0; records < 1000; ++records) {
    auto more = reader.next(fields);
    if (!more || !*more) break;
    check(!fields.empty() && fields.size() <= limits.max_fields);
    std::string line;
    for (std::size_t i = 0; i < fields.size(); ++i) {
      check(fields[i].size() <= limits.max_field_bytes);
      check(core::is_valid_utf8(fields[i]) && fields[i].find('\0') == std::string::npos);
      line += (i == 0 ? "" : ",") + campaigns::csv_cell(fields[i]);
    }
    // Written out and read again: the same cells (a guarded formula keeps its quote). After
    // a first line, so that a cell starting with U+FEFF is not taken for a byte-order mark.
    std::istringstream again("x\n" + line + "\n");
    campaigns::CsvReader second(
        again, {.max_fields = 8, .max_field_bytes = 1024, .max_record_bytes = 16384});
    std::vector<std::string> reread;
    check(second.next(reread).value_or(false));
    auto ok = second.next(reread);
    check(ok && *ok && reread.size() == fields.size());
    for (std::size_t i = 0; i < fields.size(); ++i) {
      const bool guarded = reread[i].size() == fields[i].size() + 1 && reread[i][0] == '\'';
      check(reread[i] == fields[i] || (guarded && reread[i].substr(1) == fields[i]));
    }
  }
  return 0;
}
