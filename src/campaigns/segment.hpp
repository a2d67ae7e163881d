#pragma once
// The segment language (issue 11): which contacts a campaign goes to, written by a form owner
// and shown on the approval page. Pure: text in, a tree out; a tree and one contact's fields
// in, yes or no out.
//
//   segment    := "all" | or_expr
//   or_expr    := and_expr ("or" and_expr)*
//   and_expr   := not_expr ("and" not_expr)*
//   not_expr   := "not" not_expr | "(" or_expr ")" | test
//   test       := "has" field | field op value | field "in" "(" value ("," value)* ")"
//   op         := "=" | "!=" | "<" | "<=" | ">" | ">=" | "contains" | "starts_with"
//   field      := [a-z][a-z0-9_]{0,63}      (not a keyword)
//   value      := string "..." (escapes \" and \\ only) | number -?[0-9]+(\.[0-9]+)?
//
// Trust: the text is untrusted (a form owner's, through the portal). Every refusal is an
// invalid_input error whose public text names the character where the problem is and says
// what to change; the text is bounded (bytes, nesting, tests, list values, string and
// number lengths), so parsing and matching are bounded in time and stack. Nothing throws.

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace campaigns {

struct SegmentLimits {
  static constexpr std::size_t kMaxBytes = 4096;
  static constexpr std::size_t kMaxNesting = 32;  // "(" and "not", counted together
  static constexpr std::size_t kMaxTests = 256;
  static constexpr std::size_t kMaxInValues = 100;
  static constexpr std::size_t kMaxStringBytes = 1024;
  static constexpr std::size_t kMaxNumberChars = 30;
  static constexpr std::size_t kMaxFieldChars = 64;
};

// A parsed segment; only parse_segment makes one, so every field in it is declared.
class Segment {
 public:
  // The distinct field names the segment uses, sorted.
  std::vector<std::string> fields() const;

  enum class Op { has, eq, ne, lt, le, gt, ge, contains, starts_with, in };
  struct Value {
    std::string text;     // a string's decoded bytes, or a number as written
    bool number = false;  // written as a number literal
  };
  struct Node {
    enum class Kind { everyone, any_of, all_of, negate, test } kind = Kind::test;
    std::vector<std::size_t> children;  // any_of, all_of (two or more), negate (one)
    std::string field;                  // test
    Op op = Op::has;                    // test
    std::vector<Value> values;          // test: one, or the `in` list
  };

 private:
  friend class SegmentParser;
  friend bool matches(const Segment&, const std::map<std::string, std::string, std::less<>>&);
  friend bool matches_everyone(const Segment&);

  std::vector<Node> nodes_;
  std::size_t root_ = 0;
};

// Parses `text`; every field must be one of `declared_fields`.
core::Result<Segment> parse_segment(std::string_view text,
                                    const std::vector<std::string>& declared_fields);

// Whether a contact with these fields is in the segment. A missing field makes `has` false
// and every comparison false (`!=` and `in` too); `not` negates the result as usual.
bool matches(const Segment& segment, const std::map<std::string, std::string, std::less<>>& values);

// True for "all": the approval page warns that the campaign goes to every contact.
bool matches_everyone(const Segment& segment);

}  // namespace campaigns
