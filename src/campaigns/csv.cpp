#include "campaigns/csv.hpp"

#include <fmt/format.h>

#include "core/encoding.hpp"

namespace campaigns {

namespace {

core::Error malformed(std::size_t line, std::string_view what) {
  return core::Error(core::ErrorKind::invalid_input, fmt::format("line {}: {}", line, what), "csv");
}

}  // namespace

int CsvReader::get() {
  const int c = in_.get();
  return c == std::char_traits<char>::eof() ? -1 : c;
}

core::Result<bool> CsvReader::next(std::vector<std::string>& fields) {
  fields.clear();
  if (done_) return false;
  if (!started_) {
    started_ = true;
    // A UTF-8 byte-order mark, as some spreadsheets write it.
    if (in_.peek() == 0xEF) {
      char bom[3] = {};
      in_.read(bom, 3);
      if (in_.gcount() != 3 || std::string_view(bom, 3) != "\xEF\xBB\xBF") {
        in_.clear();
        return core::fail(malformed(1, "the file is not UTF-8 text"));
      }
    }
  }
  record_line_ = line_;
  int c = get();
  if (c == -1) {
    done_ = true;
    return false;
  }
  std::size_t record_bytes = 0;
  std::string field;
  enum class State { start, unquoted, quoted, after_quote } state = State::start;
  auto finish_field = [&]() -> core::Status {
    if (fields.size() == limits_.max_fields) {
      return core::fail(
          malformed(record_line_, fmt::format("more than {} columns", limits_.max_fields)));
    }
    if (field.size() > limits_.max_field_bytes) {
      return core::fail(malformed(
          record_line_, fmt::format("a field is longer than {} bytes", limits_.max_field_bytes)));
    }
    if (!core::is_valid_utf8(field) || field.find('\0') != std::string::npos) {
      return core::fail(malformed(record_line_, "the text is not UTF-8"));
    }
    fields.push_back(std::move(field));
    field.clear();
    return core::ok();
  };
  for (;; c = get()) {
    if (c != -1 && ++record_bytes > limits_.max_record_bytes) {
      return core::fail(malformed(record_line_, fmt::format("the record is longer than {} bytes",
                                                            limits_.max_record_bytes)));
    }
    if (state == State::quoted) {
      if (c == -1) return core::fail(malformed(record_line_, "a quoted field is not closed"));
      if (c == '"') {
        if (in_.peek() == '"') {
          get();
          ++record_bytes;
          field.push_back('"');
        } else {
          state = State::after_quote;
        }
        continue;
      }
      if (c == '\n') ++line_;
      field.push_back(static_cast<char>(c));
    } else if (c == -1 || c == '\n' || (c == '\r' && in_.peek() == '\n')) {
      if (c == '\r') get();
      if (c == -1) done_ = true;
      ++line_;
      if (auto s = finish_field(); !s) return core::fail(s.error());
      return true;
    } else if (c == ',') {
      if (auto s = finish_field(); !s) return core::fail(s.error());
      state = State::start;
      continue;
    } else if (state == State::after_quote) {
      return core::fail(malformed(record_line_, "text after a closing quote"));
    } else if (c == '"') {
      if (state != State::start) {
        return core::fail(malformed(record_line_, "a quote inside an unquoted field"));
      }
      state = State::quoted;
      continue;
    } else {
      state = State::unquoted;
      field.push_back(static_cast<char>(c));
    }
  }
}

std::string csv_cell(std::string_view value) {
  std::string text;
  if (!value.empty() && (value[0] == '=' || value[0] == '+' || value[0] == '-' || value[0] == '@' ||
                         value[0] == '\t' || value[0] == '\r')) {
    text.push_back('\'');
  }
  text.append(value);
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char ch : text) {
    if (ch == '"') quoted.push_back('"');
    quoted.push_back(ch);
  }
  quoted.push_back('"');
  return quoted;
}

}  // namespace campaigns
