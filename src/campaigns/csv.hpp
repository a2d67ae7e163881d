#pragma once
// A streaming CSV reader (RFC 4180, as spreadsheets write it) for contact imports (issue 11).
// One record at a time, so a file of a million rows never sits in memory: fields separated
// by commas, optionally quoted with '"' (a quote inside a quoted field doubled), records
// ended by CRLF or LF; a UTF-8 byte-order mark at the start is skipped.
// Trust: untrusted bytes (an operator's file, from anywhere). Every record is bounded
// (fields, bytes per field, bytes per record) and must be UTF-8 without NUL; a malformed
// record (an unterminated quote, a quote in an unquoted field, text after a closing quote)
// is an error naming its line, and reading stops there: what follows cannot be trusted to
// be split where its author meant.
// Nothing here interprets a cell: "=SUM(A1)" is text, stored as text, and neutralised where
// it leaves as CSV again (csv_cell).

#include <cstddef>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace campaigns {

struct CsvLimits {
  std::size_t max_fields = 64;
  std::size_t max_field_bytes = 4096;
  std::size_t max_record_bytes = 64 * 1024;
};

class CsvReader {
 public:
  explicit CsvReader(std::istream& in, CsvLimits limits = {}) : in_(in), limits_(limits) {}

  // Reads the next record into `fields`: true, or false at the end of the input (a last
  // record without a line end counts; an empty line is a record of one empty field).
  // invalid_input naming the line on a malformed or oversized record.
  core::Result<bool> next(std::vector<std::string>& fields);

  // The line (1-based) the last record read started on.
  std::size_t line() const { return record_line_; }

 private:
  int get();

  std::istream& in_;
  const CsvLimits limits_;
  std::size_t line_ = 1;
  std::size_t record_line_ = 0;
  bool started_ = false;
  bool done_ = false;
};

// A cell as written to a CSV file that a spreadsheet may open (OWASP "CSV injection"): a
// value starting with = + - @ TAB or CR is prefixed with a quote so that it stays text;
// quoted when it holds a comma, a quote or a line end.
std::string csv_cell(std::string_view value);

}  // namespace campaigns
