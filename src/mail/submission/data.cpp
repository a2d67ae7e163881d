// Trust: untrusted network input (an authenticated client, but any bytes).
#include "mail/submission/data.hpp"

#include "mail/submission/limits.hpp"

namespace mail::submission {

void DataReader::end_line() {
  // line_ holds the content without CRLF (cut at kMaxDataLineBytes + 1 bytes).
  if (line_bytes_ == 1 && line_ == ".") {
    done_ = true;
  } else if (line_bytes_ > kMaxDataLineBytes) {
    fail(DataError::line_too_long);
  } else if (error_ == DataError::none) {
    std::string_view content = line_;
    if (!content.empty() && content.front() == '.') content.remove_prefix(1);
    if (message_.size() + content.size() + 2 > max_) {
      fail(DataError::too_large);
      message_.wipe();
    } else {
      message_.append(content);
      message_.append("\r\n");
    }
  }
  if (!line_.empty()) core::secure_wipe(line_.data(), line_.size());
  line_.clear();
  line_bytes_ = 0;
}

std::size_t DataReader::feed(std::string_view in) {
  std::size_t i = 0;
  while (i < in.size() && !done_) {
    const char c = in[i++];
    if (error_ != DataError::none && ++discarded_ > kMaxDiscardedBytes) {
      error_ = DataError::discard_limit;
      done_ = true;
      break;
    }
    if (after_cr_) {
      after_cr_ = false;
      if (c == '\n') {
        end_line();
        continue;
      }
      // A CR not followed by LF: kept as text, but the message is refused.
      fail(DataError::bare_line_end);
      ++line_bytes_;
    }
    if (c == '\r') {
      after_cr_ = true;
      continue;
    }
    if (c == '\n') {
      // A bare LF ends the line for counting, but never the data, and refuses the message.
      fail(DataError::bare_line_end);
      line_bytes_ = 2;  // so that a "." before it is not taken for the end
      end_line();
      continue;
    }
    if (static_cast<unsigned char>(c) >= 0x80 && !eight_bit_allowed_) fail(DataError::eight_bit);
    if (c == '\0') fail(DataError::bare_line_end);
    ++line_bytes_;
    if (line_.size() <= kMaxDataLineBytes) line_.push_back(c);
  }
  return i;
}

}  // namespace mail::submission
