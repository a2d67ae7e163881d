// libFuzzer target: the DNS RDATA parsers and answer builders of mail::dns
// (src/mail/dns/records.hpp) and the name normaliser.
// Trust: the input is untrusted network bytes (RDATA as a resolver hands it over). Besides
// "no crash, no sanitizer report", it checks what the parsers promise: limits hold, names
// come out lower case and well formed, MX hosts come out sorted, a null MX has no hosts.
//
// Input: byte 0 picks the parser (low 2 bits) and the rest is the RDATA; for the builders,
// the rest is split into records at each 0xFF 0x00 pair.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mail/dns/limits.hpp"
#include "mail/dns/records.hpp"

namespace {

using namespace mail::dns;

void check(bool condition) {
  if (!condition) std::abort();
}

void check_host(const std::string& host) {
  check(host.size() <= kMaxNameTextBytes);
  std::size_t label = 0;
  for (const char c : host) {
    if (c == '.') {
      check(label > 0);
      label = 0;
      continue;
    }
    check((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_');
    check(++label <= kMaxLabelBytes);
  }
  check(host.empty() || label > 0);
}

std::vector<std::vector<std::uint8_t>> split(std::span<const std::uint8_t> bytes) {
  std::vector<std::vector<std::uint8_t>> records(1);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] == 0xFF && i + 1 < bytes.size() && bytes[i + 1] == 0x00) {
      records.emplace_back();
      ++i;
      continue;
    }
    records.back().push_back(bytes[i]);
  }
  return records;
}

RawAnswer ok_answer(std::span<const std::uint8_t> bytes) {
  RawAnswer raw;
  raw.info.outcome = Outcome::ok;
  raw.info.security = Security::secure;
  raw.rdata = split(bytes);
  return raw;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::span<const std::uint8_t> rdata(data + 1, size - 1);
  switch (data[0] & 3) {
    case 0: {
      if (const auto mx = parse_mx_rdata(rdata); mx) {
        check(mx->preference == ((rdata[0] << 8) | rdata[1]));
        check_host(mx->host);
      }
      const MxAnswer answer = build_mx(ok_answer(rdata));
      if (answer.info.outcome == Outcome::ok) {
        check(std::is_sorted(
            answer.hosts.begin(), answer.hosts.end(),
            [](const MxHost& a, const MxHost& b) { return a.preference < b.preference; }));
        for (const auto& host : answer.hosts) {
          check(!host.host.empty());
          check_host(host.host);
        }
        check(!answer.null_mx || answer.hosts.empty());
      } else {
        check(answer.info.outcome == Outcome::servfail && answer.hosts.empty());
        check(!answer.null_mx);
      }
      break;
    }
    case 1: {
      if (const auto text = parse_txt_rdata(rdata); text) {
        check(text->size() <= kMaxTxtBytes);
        check(text->size() < rdata.size());
      }
      const TxtAnswer answer = build_txt(ok_answer(rdata));
      check(answer.info.outcome == Outcome::ok || answer.texts.empty());
      check(answer.texts.size() <= kMaxRecordsPerAnswer);
      break;
    }
    case 2: {
      if (const auto tlsa = parse_tlsa_rdata(rdata); tlsa) {
        check(tlsa->data.size() + 3 == rdata.size());
        check(!tlsa->data.empty() && tlsa->data.size() <= kMaxTlsaDataBytes);
        check(tlsa->usage == rdata[0] && tlsa->selector == rdata[1] &&
              tlsa->matching_type == rdata[2]);
      }
      const TlsaAnswer answer = build_tlsa(ok_answer(rdata));
      check(answer.info.outcome == Outcome::ok || answer.records.empty());
      break;
    }
    case 3: {
      std::size_t consumed = 0;
      if (const auto name = parse_name(rdata, consumed); name) {
        check(consumed >= 1 && consumed <= rdata.size() && consumed <= kMaxNameWireBytes);
        check_host(*name);
      }
      const std::string_view text(reinterpret_cast<const char*>(rdata.data()), rdata.size());
      if (const auto normal = normalize_name(text); normal) {
        check_host(*normal);
        check(!normal->empty());
        const auto again = normalize_name(*normal);
        check(again && *again == *normal);
      }
      break;
    }
  }
  return 0;
}
