// F14: the limits on submitter copies and the message they become.
#include "app/submitter_copies.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace app {
namespace {

using std::chrono::minutes;

TEST(CopyLimits, ThreeAnHourPerAddressWhateverTheCase) {
  core::FakeClock clock;
  CopyLimits limits(clock);
  EXPECT_TRUE(limits.allow("pat@example.org"));
  EXPECT_TRUE(limits.allow("Pat@Example.org"));
  EXPECT_TRUE(limits.allow("PAT@EXAMPLE.ORG"));
  EXPECT_FALSE(limits.allow("pat@example.org"));
  // Another address has its own budget.
  EXPECT_TRUE(limits.allow("sam@example.org"));
  // One comes back every 20 minutes.
  clock.advance(minutes(19));
  EXPECT_FALSE(limits.allow("pat@example.org"));
  clock.advance(minutes(2));
  EXPECT_TRUE(limits.allow("pat@example.org"));
  EXPECT_FALSE(limits.allow("pat@example.org"));
}

TEST(CopyLimits, ThirtyAnHourPerNode) {
  core::FakeClock clock;
  CopyLimits limits(clock);
  for (int i = 0; i < 30; ++i) {
    EXPECT_TRUE(limits.allow("p" + std::to_string(i) + "@example.org")) << i;
  }
  EXPECT_FALSE(limits.allow("p30@example.org"));
  clock.advance(minutes(2));
  EXPECT_TRUE(limits.allow("p31@example.org"));
}

TEST(CopyLimits, KeyIsAHashOfTheLowerCasedAddress) {
  const std::string key = CopyLimits::key_of("Pat@Example.org");
  EXPECT_EQ(key, CopyLimits::key_of("pat@example.org"));
  EXPECT_EQ(key.size(), 64u);
  EXPECT_EQ(key.find("pat"), std::string::npos);
  EXPECT_NE(key, CopyLimits::key_of("sam@example.org"));
}

TEST(SubmitterCopyMail, EncryptedPhiOpportunisticToTheTypedAddress) {
  forms::SubmitterCopy copy;
  copy.address = "pat@example.org";
  copy.subject = "Your submission 7Q4K-M2XD-AB12 to Intake";
  copy.text = core::SecretBytes(std::string_view("Reference: 7Q4K-M2XD-AB12\nName: Pat\n"));
  auto from = mail::Address::parse("forms@clinic.example");
  auto to = mail::Address::parse(copy.address);
  ASSERT_TRUE(from && to);
  const auto out = submitter_copy_mail(copy, *from, *to);
  EXPECT_TRUE(out.encrypt);
  EXPECT_TRUE(out.phi);
  EXPECT_EQ(out.security, mail::policy::Policy::opportunistic);
  EXPECT_EQ(out.from, *from);
  ASSERT_EQ(out.to.size(), 1u);
  EXPECT_EQ(out.to.front(), *to);
  EXPECT_EQ(out.subject, "Your submission 7Q4K-M2XD-AB12 to Intake");
  EXPECT_EQ(out.text_body, "Reference: 7Q4K-M2XD-AB12\nName: Pat\n");
}

}  // namespace
}  // namespace app
