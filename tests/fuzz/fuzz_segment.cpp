// libFuzzer target: the campaign segment language (campaigns::parse_segment, matches).
// Trust: the input is an untrusted segment text (a form owner's, through the portal). Besides
// "no crash, no sanitizer report, no deep recursion", it checks what the parser promises:
// anything over the size limit is refused; a parsed segment uses only declared fields; and
// matching terminates against a fixed contact, an empty one and one with every field.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "campaigns/segment.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::vector<std::string> declared = {"age", "city", "joined", "name", "tier"};
  static const std::map<std::string, std::string, std::less<>> contact = {
      {"age", "42"}, {"city", "Lyon"}, {"joined", "2026-01-31"}, {"name", "Ann \"A\" \\"}};
  static const std::map<std::string, std::string, std::less<>> nobody;
  static const std::map<std::string, std::string, std::less<>> odd = {
      {"age", "-0.000"}, {"city", ""}, {"joined", "10"}, {"name", "\xC3\xA9"}, {"tier", "1.5"}};
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto segment = campaigns::parse_segment(text, declared);
  if (!segment) {
    check(!segment.error().public_text().empty());
    return 0;
  }
  check(size <= campaigns::SegmentLimits::kMaxBytes);
  for (const std::string& field : segment->fields()) {
    check(std::find(declared.begin(), declared.end(), field) != declared.end());
  }
  const auto fields = segment->fields();
  check(std::is_sorted(fields.begin(), fields.end()) &&
        std::adjacent_find(fields.begin(), fields.end()) == fields.end());
  const bool everyone = campaigns::matches_everyone(*segment);
  const bool a = campaigns::matches(*segment, contact);
  const bool b = campaigns::matches(*segment, nobody);
  const bool c = campaigns::matches(*segment, odd);
  if (everyone) check(a && b && c && fields.empty());
  return 0;
}
