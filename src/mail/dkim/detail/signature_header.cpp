// Trust: our own values only.
#include "mail/dkim/detail/signature_header.hpp"

#include <algorithm>

#include "mail/dkim/limits.hpp"

namespace mail::dkim::detail {
namespace {

// Columns are counted from the line's start; a folded line starts with one SP.
class Folder {
 public:
  explicit Folder(std::string text) : out_(std::move(text)) {
    const auto lf = out_.rfind('\n');
    column_ = lf == std::string::npos ? out_.size() : out_.size() - lf - 1;
  }
  // A tag: after a space if it fits on this line, else on a new one.
  void word(std::string_view w) {
    if (column_ + 1 + w.size() > kFoldColumns) {
      fold();
    } else {
      out_ += ' ';
      ++column_;
    }
    append(w);
  }
  // Part of a value where FWS may go: straight on if it fits, else on a new line.
  void piece(std::string_view w) {
    if (column_ + w.size() > kFoldColumns && column_ > 1) fold();
    append(w);
  }
  // Base64 text, cut wherever a line is full.
  void fill(std::string_view text) {
    while (!text.empty()) {
      if (column_ >= kFoldColumns) fold();
      const std::size_t room = kFoldColumns - column_;
      append(text.substr(0, room));
      text.remove_prefix(std::min(room, text.size()));
    }
  }
  std::string take() { return std::move(out_); }

 private:
  void fold() {
    out_ += "\r\n ";
    column_ = 1;
  }
  void append(std::string_view w) {
    out_ += w;
    column_ += w.size();
  }
  std::string out_;
  std::size_t column_ = 0;
};

}  // namespace

std::string signature_field_without_b(const SignatureTags& tags) {
  Folder f("DKIM-Signature:");
  f.word("v=1;");
  f.word("a=" + std::string(signature_algorithm(tags.algorithm)) + ";");
  f.word("c=relaxed/relaxed;");
  f.word("d=" + std::string(tags.domain) + ";");
  f.word("s=" + std::string(tags.selector) + ";");
  f.word("t=" + std::to_string(tags.timestamp) + ";");
  const auto& names = tags.signed_names;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string end = i + 1 == names.size() ? ";" : "";
    if (i == 0) {
      f.word("h=" + names[i] + end);
    } else {
      f.piece(":" + names[i] + end);
    }
  }
  f.word("bh=" + std::string(tags.body_hash) + ";");
  f.word("b=");
  return f.take();
}

std::string append_b(std::string_view field_without_b, std::string_view b_base64) {
  Folder f{std::string(field_without_b)};
  f.fill(b_base64);
  return f.take() + "\r\n";
}

}  // namespace mail::dkim::detail
