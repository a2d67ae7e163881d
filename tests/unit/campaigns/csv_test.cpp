// The streaming CSV reader: RFC 4180 quoting, both line ends, a byte-order mark, blank and
// last lines; every malformed or oversized record is an error naming its line; and cells
// written back out cannot run as spreadsheet formulas.

#include "campaigns/csv.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace campaigns {
namespace {

using Records = std::vector<std::vector<std::string>>;

Records read_all(const std::string& text, CsvLimits limits = {}) {
  std::istringstream in(text);
  CsvReader reader(in, limits);
  Records out;
  std::vector<std::string> fields;
  for (;;) {
    auto more = reader.next(fields);
    EXPECT_TRUE(more) << more.error().public_text();
    if (!more || !*more) break;
    out.push_back(fields);
  }
  return out;
}

std::string first_error(const std::string& text, CsvLimits limits = {}) {
  std::istringstream in(text);
  CsvReader reader(in, limits);
  std::vector<std::string> fields;
  for (;;) {
    auto more = reader.next(fields);
    if (!more) return more.error().public_text();
    if (!*more) return "";
  }
}

TEST(CsvReader, QuotingAndLineEnds) {
  EXPECT_EQ(read_all("a,b\r\n\"x, y\",\"say \"\"hi\"\"\"\n\"two\nlines\",\n"),
            (Records{{"a", "b"}, {"x, y", "say \"hi\""}, {"two\nlines", ""}}));
  EXPECT_EQ(read_all("\xEF\xBB\xBF"
                     "email\nlast"),
            (Records{{"email"}, {"last"}}));
  EXPECT_EQ(read_all("a\n\nb\n"), (Records{{"a"}, {""}, {"b"}}));
  EXPECT_EQ(read_all(""), Records{});
  EXPECT_EQ(read_all("=SUM(A1),@x\n"), (Records{{"=SUM(A1)", "@x"}}));  // text, never run
  EXPECT_EQ(read_all("a\rb,c\n"), (Records{{"a\rb", "c"}}));            // a lone CR is text
}

TEST(CsvReader, LinesAreCountedAcrossQuotedLineEnds) {
  std::istringstream in("h\n\"1\n2\"\nx\n");
  CsvReader reader(in);
  std::vector<std::string> f;
  ASSERT_TRUE(reader.next(f).value());
  EXPECT_EQ(reader.line(), 1u);
  ASSERT_TRUE(reader.next(f).value());
  EXPECT_EQ(reader.line(), 2u);
  ASSERT_TRUE(reader.next(f).value());
  EXPECT_EQ(reader.line(), 4u);
}

TEST(CsvReader, MalformedAndOversizedRecordsNameTheirLine) {
  EXPECT_EQ(first_error("a\n\"open\n"), "line 2: a quoted field is not closed");
  EXPECT_EQ(first_error("a\nb\"c\n"), "line 2: a quote inside an unquoted field");
  EXPECT_EQ(first_error("\"a\"b\n"), "line 1: text after a closing quote");
  EXPECT_EQ(first_error("a\nRen\xE9\n"), "line 2: the text is not UTF-8");
  EXPECT_EQ(first_error(std::string("a\0b\n", 4)), "line 1: the text is not UTF-8");
  EXPECT_EQ(first_error("\xEF\xBB"
                        "a\n"),
            "line 1: the file is not UTF-8 text");
  const CsvLimits small{.max_fields = 3, .max_field_bytes = 4, .max_record_bytes = 16};
  EXPECT_EQ(first_error("a,b,c,d\n", small), "line 1: more than 3 columns");
  EXPECT_EQ(first_error("ok\nabcde\n", small), "line 2: a field is longer than 4 bytes");
  EXPECT_EQ(first_error("\"abcde\"\n", small), "line 1: a field is longer than 4 bytes");
  const CsvLimits short_records{.max_fields = 3, .max_field_bytes = 4, .max_record_bytes = 12};
  EXPECT_EQ(first_error("abc,abc,abc\nabcd,abcd,abcd\n", short_records),
            "line 2: the record is longer than 12 bytes");
  EXPECT_EQ(first_error("a,b,c\n", small), "");
}

TEST(CsvCell, FormulasAreNeutralisedAndSpecialsQuoted) {
  EXPECT_EQ(csv_cell("plain"), "plain");
  EXPECT_EQ(csv_cell("=SUM(A1)"), "'=SUM(A1)");
  EXPECT_EQ(csv_cell("+1"), "'+1");
  EXPECT_EQ(csv_cell("-1"), "'-1");
  EXPECT_EQ(csv_cell("@cmd"), "'@cmd");
  EXPECT_EQ(csv_cell("\tx"), "'\tx");
  EXPECT_EQ(csv_cell("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(csv_cell("=a,b"), "\"'=a,b\"");
  EXPECT_EQ(csv_cell(""), "");
}

}  // namespace
}  // namespace campaigns
