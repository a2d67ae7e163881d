// mail::Address: the strict subset of RFC 5321/6531 described in address.hpp.
#include "mail/mime/address.hpp"

#include <gtest/gtest.h>

#include "mail/mime/limits.hpp"

namespace mail::mime {
namespace {

TEST(Address, AcceptsOrdinaryAddresses) {
  for (const char* text :
       {"a@example.org", "first.last+tag@sub.example.co.uk", "o'brien@example.ie",
        "x!#$%&'*+-/=?^_`{|}~@example.org", "user@xn--mnchen-3ya.de", "a@a-b.c0"}) {
    auto a = Address::parse(text);
    ASSERT_TRUE(a) << text << ": " << a.error().detail();
    EXPECT_EQ(a->str(), text);
    EXPECT_FALSE(a->needs_smtputf8());
  }
}

TEST(Address, DomainLowerCasedLocalPartKept) {
  auto a = Address::parse("John.Doe@Example.ORG");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->local_part(), "John.Doe");
  EXPECT_EQ(a->domain(), "example.org");
  EXPECT_EQ(a->str(), "John.Doe@example.org");
}

TEST(Address, InternationalDomainBecomesALabels) {
  auto a = Address::parse("info@M\xc3\xbcnchen.de");  // München, capital M
  ASSERT_TRUE(a) << a.error().detail();
  EXPECT_EQ(a->domain(), "xn--mnchen-3ya.de");
  EXPECT_FALSE(a->needs_smtputf8());
  EXPECT_EQ(*Address::parse("info@xn--mnchen-3ya.de"), *a);
}

TEST(Address, Utf8LocalPartNeedsSmtputf8) {
  auto a = Address::parse("j\xc3\xbcrgen@example.de");
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->needs_smtputf8());
}

TEST(Address, RefusesInjectionAndOddSyntax) {
  for (const std::string& text : {
           std::string("a@example.org\r\nBcc: x@evil.test"),
           std::string("a\r@example.org"),
           std::string("a\n@example.org"),
           std::string("a@exa\0mple.org", 15),
           std::string("a b@example.org"),
           std::string("<a@example.org>"),
           std::string("\"a b\"@example.org"),
           std::string("a@b@example.org"),
           std::string("a@[192.0.2.1]"),
           std::string("a@example.org."),
           std::string(".a@example.org"),
           std::string("a.@example.org"),
           std::string("a..b@example.org"),
           std::string("@example.org"),
           std::string("a@"),
           std::string("a"),
           std::string(""),
           std::string("a@localhost"),
           std::string("a@-x.org"),
           std::string("a@x-.org"),
           std::string("a@x..org"),
           std::string("a@ex_ample.org"),
           std::string("a,b@example.org"),
           std::string("a;b@example.org"),
           std::string("a(b)@example.org"),
           std::string("a\\b@example.org"),
           std::string("a\t@example.org"),
           std::string("a\x7f@example.org"),
           std::string("a\xc2\x85@example.org"),  // C1 NEL
           std::string("a\xff@example.org"),
           std::string("a\xc3@example.org"),          // bad UTF-8
           std::string("a@exa\xe2\x80\xaemple.org"),  // U+202E: refused by IDNA
       }) {
    EXPECT_FALSE(Address::parse(text)) << text;
  }
}

TEST(Address, Limits) {
  const std::string local64(kMaxLocalPartBytes, 'a');
  EXPECT_TRUE(Address::parse(local64 + "@example.org"));
  EXPECT_FALSE(Address::parse(local64 + "a@example.org"));
  const std::string label63(63, 'b');
  EXPECT_TRUE(Address::parse("a@" + label63 + ".org"));
  EXPECT_FALSE(Address::parse("a@" + label63 + "b.org"));
  // 254 bytes in all, not one more.
  std::string at254 = local64 + "@" + label63 + "." + label63 + ".";
  at254 += std::string(kMaxAddressBytes - at254.size(), 'c');
  ASSERT_EQ(at254.size(), 254u);
  EXPECT_TRUE(Address::parse(at254)) << Address::parse(at254).error().detail();
  EXPECT_FALSE(Address::parse(at254 + "c"));
}

TEST(NormalizeDomain, Rules) {
  EXPECT_EQ(*normalize_domain("Mail.Example.ORG"), "mail.example.org");
  EXPECT_FALSE(normalize_domain("example"));
  EXPECT_FALSE(normalize_domain("exa mple.org"));
  EXPECT_FALSE(normalize_domain("example.org\r\n"));
  EXPECT_FALSE(normalize_domain(std::string(254, 'a')));
}

}  // namespace
}  // namespace mail::mime
