// The aggregate report (RFC 8460 4.4): its JSON read back field by field, grouping and
// bounds, determinism, and the gzip stream inflated again with zlib.
#include "mail/tlsrpt/report.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <nlohmann/json.hpp>

#include "mail/tlsrpt/limits.hpp"

namespace mail::tlsrpt {
namespace {

const core::TimePoint kDay{std::chrono::seconds(1'796'256'000)};  // 2026-12-03T00:00:00Z

ReportSpec spec() {
  ReportSpec s;
  s.organization = "Clinic Example";
  s.contact = "postmaster@clinic.example";
  s.report_id = "2026-12-03T00:00:00Z_example.net";
  s.policy_domain = "example.net";
  s.start = kDay;
  s.end = kDay + std::chrono::seconds(86399);
  Session tlsa{.policy = PolicyType::tlsa, .policy_strings = {"3 1 1 ab12"}, .success = true};
  Session sts{
      .policy = PolicyType::sts,
      .policy_strings = {"version: STSv1", "mode: enforce", "mx: *.example.net", "max_age: 86400"},
      .mx_patterns = {"*.example.net"},
      .success = true};
  for (int i = 0; i < 3; ++i) s.sessions.push_back(tlsa);
  s.sessions.push_back(sts);
  Session bad = tlsa;
  bad.success = false;
  bad.result_type = "tlsa-invalid";
  bad.receiving_mx = "mx1.example.net";
  bad.receiving_ip = "192.0.2.1";
  s.sessions.push_back(bad);
  s.sessions.push_back(bad);
  Session none{.policy = PolicyType::no_policy_found,
               .success = false,
               .result_type = "starttls-not-supported",
               .receiving_mx = "mx2.example.net"};
  s.sessions.push_back(none);
  return s;
}

std::string gunzip(const std::string& in) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  std::string out(1 << 20, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  inflateEnd(&z);
  return out;
}

TEST(TlsRptReport, FieldsAsRfc8460Defines) {
  const auto j = nlohmann::json::parse(report_json(spec()));
  EXPECT_EQ(j["organization-name"], "Clinic Example");
  EXPECT_EQ(j["date-range"]["start-datetime"], "2026-12-03T00:00:00Z");
  EXPECT_EQ(j["date-range"]["end-datetime"], "2026-12-03T23:59:59Z");
  EXPECT_EQ(j["contact-info"], "postmaster@clinic.example");
  EXPECT_EQ(j["report-id"], "2026-12-03T00:00:00Z_example.net");
  ASSERT_EQ(j["policies"].size(), 3u);
  std::map<std::string, nlohmann::json> by_type;
  for (const auto& p : j["policies"]) by_type[p["policy"]["policy-type"]] = p;
  const auto& tlsa = by_type.at("tlsa");
  EXPECT_EQ(tlsa["policy"]["policy-domain"], "example.net");
  EXPECT_EQ(tlsa["policy"]["policy-string"], nlohmann::json::array({"3 1 1 ab12"}));
  EXPECT_EQ(tlsa["summary"]["total-successful-session-count"], 3);
  EXPECT_EQ(tlsa["summary"]["total-failure-session-count"], 2);
  ASSERT_EQ(tlsa["failure-details"].size(), 1u);
  EXPECT_EQ(tlsa["failure-details"][0]["result-type"], "tlsa-invalid");
  EXPECT_EQ(tlsa["failure-details"][0]["receiving-mx-hostname"], "mx1.example.net");
  EXPECT_EQ(tlsa["failure-details"][0]["receiving-ip"], "192.0.2.1");
  EXPECT_EQ(tlsa["failure-details"][0]["failed-session-count"], 2);
  EXPECT_FALSE(tlsa["failure-details"][0].contains("sending-mta-ip"));
  const auto& sts = by_type.at("sts");
  EXPECT_EQ(sts["policy"]["mx-host"], nlohmann::json::array({"*.example.net"}));
  EXPECT_EQ(sts["summary"]["total-successful-session-count"], 1);
  EXPECT_FALSE(sts.contains("failure-details"));
  const auto& none = by_type.at("no-policy-found");
  EXPECT_FALSE(none["policy"].contains("policy-string"));
  EXPECT_EQ(none["failure-details"][0]["result-type"], "starttls-not-supported");
}

TEST(TlsRptReport, DeterministicAndBounded) {
  EXPECT_EQ(report_json(spec()), report_json(spec()));
  auto s = spec();
  s.sessions.clear();
  for (std::size_t i = 0; i < kMaxFailureDetails + 50; ++i) {
    s.sessions.push_back({.policy = PolicyType::no_policy_found,
                          .success = false,
                          .result_type = "validation-failure",
                          .receiving_mx = "mx.example.net",
                          .receiving_ip = "192.0.2." + std::to_string(i)});
  }
  const auto j = nlohmann::json::parse(report_json(s));
  EXPECT_EQ(j["policies"][0]["failure-details"].size(), kMaxFailureDetails);
  // The summary still counts every failure.
  EXPECT_EQ(j["policies"][0]["summary"]["total-failure-session-count"], kMaxFailureDetails + 50);
}

TEST(TlsRptReport, ASessionCountsAsManyAsItSays) {
  ReportSpec s = spec();
  s.sessions = {{.policy = PolicyType::no_policy_found, .success = true, .count = 40},
                {.policy = PolicyType::no_policy_found,
                 .success = false,
                 .result_type = "starttls-not-supported",
                 .receiving_mx = "mx.example.net",
                 .count = 7}};
  const auto j = nlohmann::json::parse(report_json(s));
  ASSERT_EQ(j["policies"].size(), 1u);
  EXPECT_EQ(j["policies"][0]["summary"]["total-successful-session-count"], 40);
  EXPECT_EQ(j["policies"][0]["summary"]["total-failure-session-count"], 7);
  EXPECT_EQ(j["policies"][0]["failure-details"][0]["failed-session-count"], 7);
}

TEST(TlsRptReport, GzipRoundTripAndFileName) {
  const std::string json = report_json(spec());
  auto gz = gzip(json);
  ASSERT_TRUE(gz);
  ASSERT_GE(gz->size(), 18u);
  EXPECT_EQ(static_cast<unsigned char>((*gz)[0]), 0x1f);  // gzip magic
  EXPECT_EQ(static_cast<unsigned char>((*gz)[1]), 0x8b);
  EXPECT_EQ(gunzip(*gz), json);
  EXPECT_EQ(report_file_name("clinic.example", spec(), "001"),
            "clinic.example!example.net!1796256000!1796342399!001.json.gz");
}

}  // namespace
}  // namespace mail::tlsrpt
