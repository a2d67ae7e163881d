#include "campaigns/segment.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <set>

#include "core/encoding.hpp"

namespace campaigns {

namespace {

constexpr std::size_t kNone = static_cast<std::size_t>(-1);

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_word_char(char c) { return is_lower(c) || is_digit(c) || c == '_'; }

bool is_keyword(std::string_view word) {
  return word == "all" || word == "or" || word == "and" || word == "not" || word == "has" ||
         word == "in" || word == "contains" || word == "starts_with";
}

// A number as the grammar writes it, -?[0-9]+(\.[0-9]+)?, split for an exact comparison
// (no floating point: "0.1" and "0.10" are equal, "9007199254740993" is not rounded).
struct Decimal {
  bool negative = false;
  std::string_view whole;     // no leading zeros
  std::string_view fraction;  // no trailing zeros
};

std::optional<Decimal> parse_decimal(std::string_view text) {
  Decimal d;
  std::size_t i = 0;
  if (i < text.size() && text[i] == '-') {
    d.negative = true;
    ++i;
  }
  const std::size_t whole_start = i;
  while (i < text.size() && is_digit(text[i])) ++i;
  if (i == whole_start) return std::nullopt;
  d.whole = text.substr(whole_start, i - whole_start);
  if (i < text.size()) {
    if (text[i] != '.') return std::nullopt;
    const std::size_t fraction_start = ++i;
    while (i < text.size() && is_digit(text[i])) ++i;
    if (i == fraction_start || i != text.size()) return std::nullopt;
    d.fraction = text.substr(fraction_start);
  }
  while (d.whole.size() > 1 && d.whole[0] == '0') d.whole.remove_prefix(1);
  while (!d.fraction.empty() && d.fraction.back() == '0') d.fraction.remove_suffix(1);
  if (d.whole == "0" && d.fraction.empty()) d.negative = false;  // -0 is 0
  return d;
}

// <0, 0, >0 like strcmp.
int compare_decimal(const Decimal& a, const Decimal& b) {
  if (a.negative != b.negative) return a.negative ? -1 : 1;
  int magnitude = 0;
  if (a.whole.size() != b.whole.size()) {
    magnitude = a.whole.size() < b.whole.size() ? -1 : 1;
  } else if (int c = a.whole.compare(b.whole); c != 0) {
    magnitude = c < 0 ? -1 : 1;
  } else if (int f = a.fraction.compare(b.fraction); f != 0) {
    magnitude = f < 0 ? -1 : 1;
  }
  return a.negative ? -magnitude : magnitude;
}

int compare_bytes(std::string_view a, std::string_view b) {
  const int c = a.compare(b);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

}  // namespace

// Recursive descent over a one-token lookahead lexer. The first error wins; after it every
// function returns at once. Recursion goes one level per "(" or "not", at most kMaxNesting.
class SegmentParser {
 public:
  SegmentParser(std::string_view text, const std::vector<std::string>& declared)
      : text_(text), declared_(declared) {}

  core::Result<Segment> parse() {
    if (text_.size() > SegmentLimits::kMaxBytes) {
      return core::fail(
          core::ErrorKind::invalid_input,
          fmt::format("the segment is longer than {} bytes", SegmentLimits::kMaxBytes), "segment");
    }
    advance();
    if (error_) return core::fail(std::move(*error_));
    if (current_.kind == Token::Kind::end) {
      fail_at(current_.pos, "the segment is empty: write \"all\" or a test such as has email");
      return core::fail(std::move(*error_));
    }
    if (current_.kind == Token::Kind::word && current_.text == "all") {
      advance();
      if (!error_ && current_.kind != Token::Kind::end) {
        fail_at(current_.pos, "\"all\" must be the whole segment");
      }
      if (error_) return core::fail(std::move(*error_));
      segment_.nodes_.push_back(Segment::Node{.kind = Segment::Node::Kind::everyone});
      segment_.root_ = 0;
      return std::move(segment_);
    }
    const std::size_t root = parse_or(0);
    if (!error_ && current_.kind != Token::Kind::end) {
      fail_at(current_.pos, current_.kind == Token::Kind::rparen
                                ? "\")\" closes no \"(\""
                                : fmt::format("expected \"and\", \"or\" or the end, found {}",
                                              describe(current_)));
    }
    if (error_) return core::fail(std::move(*error_));
    segment_.root_ = root;
    return std::move(segment_);
  }

 private:
  struct Token {
    enum class Kind { end, word, string, number, op, lparen, rparen, comma } kind = Kind::end;
    std::string text;  // a word, an operator, a number as written, a string decoded
    std::size_t pos = 0;
  };

  // 1-based, in characters (UTF-8 code points) of the text as written.
  std::size_t character(std::size_t byte_offset) const {
    std::size_t n = 1;
    for (std::size_t i = 0; i < byte_offset && i < text_.size(); ++i) {
      if ((static_cast<unsigned char>(text_[i]) & 0xC0) != 0x80) ++n;
    }
    return n;
  }

  void fail_at(std::size_t byte_offset, std::string_view what) {
    if (error_) return;
    error_.emplace(core::ErrorKind::invalid_input,
                   fmt::format("at character {}: {}", character(byte_offset), what), "segment");
  }

  static std::string describe(const Token& t) {
    switch (t.kind) {
      case Token::Kind::end:
        return "the end";
      case Token::Kind::word:
        return fmt::format("\"{}\"", t.text);
      case Token::Kind::string:
        return "a string";
      case Token::Kind::number:
        return fmt::format("the number {}", t.text);
      case Token::Kind::op:
        return fmt::format("\"{}\"", t.text);
      case Token::Kind::lparen:
        return "\"(\"";
      case Token::Kind::rparen:
        return "\")\"";
      case Token::Kind::comma:
        return "\",\"";
    }
    return "something else";
  }

  void advance() {
    if (error_) return;
    while (at_ < text_.size() && is_space(text_[at_])) ++at_;
    current_ = Token{};
    current_.pos = at_;
    if (at_ == text_.size()) return;
    const char c = text_[at_];
    if (is_lower(c)) {
      std::size_t end = at_;
      while (end < text_.size() && is_word_char(text_[end])) ++end;
      if (end - at_ > SegmentLimits::kMaxFieldChars) {
        fail_at(at_, fmt::format("a field name is longer than {} characters",
                                 SegmentLimits::kMaxFieldChars));
        return;
      }
      current_.kind = Token::Kind::word;
      current_.text.assign(text_.substr(at_, end - at_));
      at_ = end;
    } else if (is_digit(c) || c == '-') {
      lex_number();
    } else if (c == '"') {
      lex_string();
    } else if (c == '(' || c == ')' || c == ',') {
      current_.kind =
          c == '(' ? Token::Kind::lparen : (c == ')' ? Token::Kind::rparen : Token::Kind::comma);
      ++at_;
    } else if (c == '=' || c == '<' || c == '>' || c == '!') {
      std::size_t len = 1;
      if (c != '=' && at_ + 1 < text_.size() && text_[at_ + 1] == '=') len = 2;
      if (c == '!' && len == 1) {
        fail_at(at_, "\"!\" must be followed by \"=\"; write \"not\" to negate a test");
        return;
      }
      current_.kind = Token::Kind::op;
      current_.text.assign(text_.substr(at_, len));
      at_ += len;
    } else if (c >= 'A' && c <= 'Z') {
      fail_at(at_, "field names and keywords are lower case");
    } else if (c == '\'') {
      fail_at(at_, "strings are written in double quotes");
    } else {
      fail_at(at_, "unexpected character: use a field, an operator, a \"string\" or a number");
    }
  }

  void lex_number() {
    const std::size_t start = at_;
    std::size_t i = at_;
    if (text_[i] == '-') ++i;
    const std::size_t digits = i;
    while (i < text_.size() && is_digit(text_[i])) ++i;
    if (i == digits) {
      fail_at(start, "\"-\" must be followed by digits");
      return;
    }
    if (i < text_.size() && text_[i] == '.') {
      const std::size_t fraction = ++i;
      while (i < text_.size() && is_digit(text_[i])) ++i;
      if (i == fraction) {
        fail_at(start, "a number needs digits after its decimal point");
        return;
      }
    }
    if (i - start > SegmentLimits::kMaxNumberChars) {
      fail_at(start,
              fmt::format("a number is longer than {} characters", SegmentLimits::kMaxNumberChars));
      return;
    }
    if (i < text_.size() && (is_word_char(text_[i]) || text_[i] == '.')) {
      fail_at(i, "a number must end with a digit: put a string in double quotes");
      return;
    }
    current_.kind = Token::Kind::number;
    current_.text.assign(text_.substr(start, i - start));
    at_ = i;
  }

  void lex_string() {
    const std::size_t start = at_;
    std::string value;
    std::size_t i = at_ + 1;
    for (;; ++i) {
      if (i >= text_.size()) {
        fail_at(start, "a string is not closed: end it with a double quote");
        return;
      }
      const char c = text_[i];
      if (c == '"') break;
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u == 0x7F) {
        fail_at(i, "a string cannot hold a control character such as a line break or a tab");
        return;
      }
      if (c == '\\') {
        if (i + 1 < text_.size() && (text_[i + 1] == '"' || text_[i + 1] == '\\')) {
          value.push_back(text_[++i]);
        } else {
          fail_at(i, "only \\\" and \\\\ may follow a backslash in a string");
          return;
        }
      } else {
        value.push_back(c);
      }
      if (value.size() > SegmentLimits::kMaxStringBytes) {
        fail_at(start,
                fmt::format("a string is longer than {} bytes", SegmentLimits::kMaxStringBytes));
        return;
      }
    }
    if (!core::is_valid_utf8(value)) {
      fail_at(start, "a string is not valid UTF-8 text");
      return;
    }
    current_.kind = Token::Kind::string;
    current_.text = std::move(value);
    at_ = i + 1;
  }

  bool at_word(std::string_view word) const {
    return current_.kind == Token::Kind::word && current_.text == word;
  }

  std::size_t add(Segment::Node node) {
    segment_.nodes_.push_back(std::move(node));
    return segment_.nodes_.size() - 1;
  }

  std::size_t parse_or(std::size_t depth) {
    std::vector<std::size_t> children{parse_and(depth)};
    while (!error_ && at_word("or")) {
      advance();
      children.push_back(parse_and(depth));
    }
    if (error_) return kNone;
    if (children.size() == 1) return children[0];
    return add(Segment::Node{.kind = Segment::Node::Kind::any_of, .children = std::move(children)});
  }

  std::size_t parse_and(std::size_t depth) {
    std::vector<std::size_t> children{parse_not(depth)};
    while (!error_ && at_word("and")) {
      advance();
      children.push_back(parse_not(depth));
    }
    if (error_) return kNone;
    if (children.size() == 1) return children[0];
    return add(Segment::Node{.kind = Segment::Node::Kind::all_of, .children = std::move(children)});
  }

  std::size_t parse_not(std::size_t depth) {
    if (error_) return kNone;
    if (at_word("not") || current_.kind == Token::Kind::lparen) {
      if (depth == SegmentLimits::kMaxNesting) {
        fail_at(current_.pos, fmt::format("\"(\" and \"not\" are nested deeper than {}",
                                          SegmentLimits::kMaxNesting));
        return kNone;
      }
      if (at_word("not")) {
        advance();
        const std::size_t inner = parse_not(depth + 1);
        if (error_) return kNone;
        return add(Segment::Node{.kind = Segment::Node::Kind::negate, .children = {inner}});
      }
      const std::size_t open = current_.pos;
      advance();
      const std::size_t inner = parse_or(depth + 1);
      if (error_) return kNone;
      if (current_.kind != Token::Kind::rparen) {
        fail_at(
            current_.pos,
            current_.kind == Token::Kind::end
                ? fmt::format("the \"(\" at character {} is not closed", character(open))
                : fmt::format("expected \"and\", \"or\" or \")\", found {}", describe(current_)));
        return kNone;
      }
      advance();
      return inner;
    }
    return parse_test();
  }

  // A field name where one is expected: a word, not a keyword, declared.
  std::optional<std::string> parse_field() {
    if (current_.kind != Token::Kind::word) {
      fail_at(current_.pos, fmt::format("expected a field name, found {}", describe(current_)));
      return std::nullopt;
    }
    if (is_keyword(current_.text)) {
      fail_at(current_.pos,
              fmt::format("expected a field name, found the keyword \"{}\"", current_.text));
      return std::nullopt;
    }
    if (std::find(declared_.begin(), declared_.end(), current_.text) == declared_.end()) {
      fail_at(current_.pos,
              fmt::format("field \"{}\" is not declared: add it to the campaign's fields",
                          current_.text));
      return std::nullopt;
    }
    std::string name = std::move(current_.text);
    advance();
    return name;
  }

  std::optional<Segment::Value> parse_value() {
    if (current_.kind != Token::Kind::string && current_.kind != Token::Kind::number) {
      fail_at(current_.pos,
              fmt::format("expected a \"string\" or a number, found {}", describe(current_)));
      return std::nullopt;
    }
    Segment::Value value{.text = std::move(current_.text),
                         .number = current_.kind == Token::Kind::number};
    advance();
    if (error_) return std::nullopt;
    return value;
  }

  std::size_t parse_test() {
    if (++tests_ > SegmentLimits::kMaxTests) {
      fail_at(current_.pos, fmt::format("more than {} tests", SegmentLimits::kMaxTests));
      return kNone;
    }
    Segment::Node node{.kind = Segment::Node::Kind::test};
    if (at_word("has")) {
      advance();
      auto field = parse_field();
      if (!field || error_) return kNone;
      node.field = std::move(*field);
      node.op = Segment::Op::has;
      return add(std::move(node));
    }
    auto field = parse_field();
    if (!field || error_) return kNone;
    node.field = std::move(*field);
    if (at_word("in")) {
      node.op = Segment::Op::in;
      advance();
      if (!error_ && current_.kind != Token::Kind::lparen) {
        fail_at(current_.pos,
                fmt::format("expected \"(\" after \"in\", found {}", describe(current_)));
      }
      advance();
      for (;;) {
        if (error_) return kNone;
        if (node.values.size() == SegmentLimits::kMaxInValues) {
          fail_at(current_.pos, fmt::format("an \"in\" list has more than {} values",
                                            SegmentLimits::kMaxInValues));
          return kNone;
        }
        auto value = parse_value();
        if (!value) return kNone;
        node.values.push_back(std::move(*value));
        if (current_.kind == Token::Kind::comma) {
          advance();
          continue;
        }
        if (current_.kind == Token::Kind::rparen) {
          advance();
          break;
        }
        fail_at(current_.pos, fmt::format("expected \",\" or \")\" in an \"in\" list, found {}",
                                          describe(current_)));
        return kNone;
      }
      if (error_) return kNone;
      return add(std::move(node));
    }
    if (current_.kind == Token::Kind::op) {
      const std::string& op = current_.text;
      node.op = op == "="    ? Segment::Op::eq
                : op == "!=" ? Segment::Op::ne
                : op == "<"  ? Segment::Op::lt
                : op == "<=" ? Segment::Op::le
                : op == ">"  ? Segment::Op::gt
                             : Segment::Op::ge;
    } else if (at_word("contains")) {
      node.op = Segment::Op::contains;
    } else if (at_word("starts_with")) {
      node.op = Segment::Op::starts_with;
    } else {
      fail_at(current_.pos,
              fmt::format("expected an operator (= != < <= > >= contains starts_with in) after "
                          "the field \"{}\", found {}",
                          node.field, describe(current_)));
      return kNone;
    }
    advance();
    if (error_) return kNone;
    auto value = parse_value();
    if (!value) return kNone;
    node.values.push_back(std::move(*value));
    return add(std::move(node));
  }

  std::string_view text_;
  const std::vector<std::string>& declared_;
  std::size_t at_ = 0;
  Token current_;
  std::size_t tests_ = 0;
  std::optional<core::Error> error_;
  Segment segment_;
};

core::Result<Segment> parse_segment(std::string_view text,
                                    const std::vector<std::string>& declared_fields) {
  return SegmentParser(text, declared_fields).parse();
}

std::vector<std::string> Segment::fields() const {
  std::set<std::string> names;
  for (const Node& node : nodes_) {
    if (node.kind == Node::Kind::test) names.insert(node.field);
  }
  return {names.begin(), names.end()};
}

namespace {

bool compare(Segment::Op op, std::string_view field, const Segment::Value& value) {
  switch (op) {
    case Segment::Op::eq:
      return field == value.text;
    case Segment::Op::ne:
      return field != value.text;
    case Segment::Op::contains:
      return field.find(value.text) != std::string_view::npos;
    case Segment::Op::starts_with:
      return field.starts_with(value.text);
    case Segment::Op::in:
      return field == value.text;
    case Segment::Op::has:
      return true;  // decided by the caller: the field is present
    case Segment::Op::lt:
    case Segment::Op::le:
    case Segment::Op::gt:
    case Segment::Op::ge:
      break;
  }
  int order = 0;
  std::optional<Decimal> left, right;
  if (value.number && (left = parse_decimal(field)) && (right = parse_decimal(value.text))) {
    order = compare_decimal(*left, *right);
  } else {
    order = compare_bytes(field, value.text);
  }
  switch (op) {
    case Segment::Op::lt:
      return order < 0;
    case Segment::Op::le:
      return order <= 0;
    case Segment::Op::gt:
      return order > 0;
    default:
      return order >= 0;
  }
}

// Depth is bounded by the parser: one level per "(" or "not" plus the or/and under it.
bool evaluate(const std::vector<Segment::Node>& nodes, std::size_t index,
              const std::map<std::string, std::string, std::less<>>& values) {
  const Segment::Node& node = nodes[index];
  switch (node.kind) {
    case Segment::Node::Kind::everyone:
      return true;
    case Segment::Node::Kind::any_of:
      return std::any_of(node.children.begin(), node.children.end(),
                         [&](std::size_t child) { return evaluate(nodes, child, values); });
    case Segment::Node::Kind::all_of:
      return std::all_of(node.children.begin(), node.children.end(),
                         [&](std::size_t child) { return evaluate(nodes, child, values); });
    case Segment::Node::Kind::negate:
      return !evaluate(nodes, node.children[0], values);
    case Segment::Node::Kind::test:
      break;
  }
  const auto it = values.find(node.field);
  if (it == values.end()) return false;
  if (node.op == Segment::Op::has) return true;
  return std::any_of(node.values.begin(), node.values.end(), [&](const Segment::Value& value) {
    return compare(node.op, it->second, value);
  });
}

}  // namespace

bool matches(const Segment& segment,
             const std::map<std::string, std::string, std::less<>>& values) {
  if (segment.nodes_.empty()) return false;
  return evaluate(segment.nodes_, segment.root_, values);
}

bool matches_everyone(const Segment& segment) {
  return !segment.nodes_.empty() &&
         segment.nodes_[segment.root_].kind == Segment::Node::Kind::everyone;
}

}  // namespace campaigns
