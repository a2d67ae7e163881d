// Trust: untrusted network input (RDATA from DNS answers).
#include "mail/dns/records.hpp"

#include <algorithm>
#include <utility>

#include "mail/dns/limits.hpp"

namespace mail::dns {

namespace {

bool is_name_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

char lower(unsigned char c) {
  return static_cast<char>((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
}

core::Unexpected<core::Error> malformed(std::string detail) {
  return core::fail(core::ErrorKind::invalid_input, "malformed DNS record", std::move(detail));
}

// Shared tail of the builders: a non-ok answer keeps its info and no records; an ok one
// with too many records, or one whose record fails to parse, becomes servfail.
bool refuse_count(AnswerInfo& info, std::size_t count) {
  if (count <= kMaxRecordsPerAnswer) return false;
  info.outcome = Outcome::servfail;
  info.detail = "too many records in the answer (" + std::to_string(count) + ")";
  return true;
}

void fail_record(AnswerInfo& info, std::string_view type, const core::Error& error) {
  info.outcome = Outcome::servfail;
  info.detail = std::string(type) + " record: " + error.detail();
}

}  // namespace

std::string_view to_string(Security security) {
  switch (security) {
    case Security::secure:
      return "secure";
    case Security::insecure:
      return "insecure";
    case Security::bogus:
      return "bogus";
  }
  return "bogus";
}

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::ok:
      return "ok";
    case Outcome::nxdomain:
      return "nxdomain";
    case Outcome::nodata:
      return "nodata";
    case Outcome::servfail:
      return "servfail";
    case Outcome::timeout:
      return "timeout";
  }
  return "servfail";
}

Security combine(Security a, Security b) {
  if (a == Security::bogus || b == Security::bogus) return Security::bogus;
  if (a == Security::insecure || b == Security::insecure) return Security::insecure;
  return Security::secure;
}

core::Result<std::string> parse_name(Bytes wire, std::size_t& consumed) {
  std::string name;
  std::size_t at = 0;
  while (true) {
    if (at >= wire.size()) return malformed("name runs past the end of the record");
    if (at >= kMaxNameWireBytes) return malformed("name longer than 255 bytes");
    const std::size_t length = wire[at];
    if ((length & 0xC0) != 0) return malformed("compressed or extended label in a name");
    ++at;
    if (length == 0) break;
    if (length > kMaxLabelBytes) return malformed("label longer than 63 bytes");
    if (at + length > wire.size()) return malformed("label runs past the end of the record");
    if (at + length >= kMaxNameWireBytes) return malformed("name longer than 255 bytes");
    if (!name.empty()) name.push_back('.');
    for (std::size_t i = 0; i < length; ++i) {
      const unsigned char c = wire[at + i];
      if (!is_name_char(c)) return malformed("name with a byte other than a letter, digit, - or _");
      name.push_back(lower(c));
    }
    at += length;
  }
  consumed = at;
  return name;
}

core::Result<MxHost> parse_mx_rdata(Bytes rdata) {
  if (rdata.size() < 3) return malformed("MX record shorter than 3 bytes");
  MxHost mx;
  mx.preference = static_cast<std::uint16_t>((rdata[0] << 8) | rdata[1]);
  std::size_t consumed = 0;
  auto name = parse_name(rdata.subspan(2), consumed);
  if (!name) return core::fail(std::move(name).error());
  if (2 + consumed != rdata.size()) return malformed("bytes after the MX exchange name");
  mx.host = std::move(*name);
  return mx;
}

core::Result<std::string> parse_txt_rdata(Bytes rdata) {
  if (rdata.empty()) return malformed("empty TXT record");
  std::string text;
  std::size_t at = 0;
  while (at < rdata.size()) {
    const std::size_t length = rdata[at++];
    if (at + length > rdata.size()) return malformed("TXT string runs past the end");
    if (text.size() + length > kMaxTxtBytes) return malformed("TXT record over the size limit");
    text.append(reinterpret_cast<const char*>(rdata.data() + at), length);
    at += length;
  }
  return text;
}

core::Result<TlsaRecord> parse_tlsa_rdata(Bytes rdata) {
  if (rdata.size() < 4) return malformed("TLSA record shorter than 4 bytes");
  if (rdata.size() - 3 > kMaxTlsaDataBytes) return malformed("TLSA data over the size limit");
  TlsaRecord tlsa;
  tlsa.usage = rdata[0];
  tlsa.selector = rdata[1];
  tlsa.matching_type = rdata[2];
  tlsa.data.assign(rdata.begin() + 3, rdata.end());
  return tlsa;
}

MxAnswer build_mx(RawAnswer raw) {
  MxAnswer answer;
  answer.info = std::move(raw.info);
  if (answer.info.outcome != Outcome::ok) return answer;
  if (refuse_count(answer.info, raw.rdata.size())) return answer;
  std::vector<MxHost> hosts;
  hosts.reserve(raw.rdata.size());
  for (const auto& rdata : raw.rdata) {
    auto mx = parse_mx_rdata(rdata);
    if (!mx) {
      fail_record(answer.info, "MX", mx.error());
      return answer;
    }
    hosts.push_back(std::move(*mx));
  }
  if (hosts.size() == 1 && hosts[0].host.empty() && hosts[0].preference == 0) {
    answer.null_mx = true;
    return answer;
  }
  const auto root =
      std::remove_if(hosts.begin(), hosts.end(), [](const MxHost& mx) { return mx.host.empty(); });
  if (root != hosts.end()) {
    answer.info.detail = "a null MX (\".\") among other MX records was left out";
    hosts.erase(root, hosts.end());
  }
  std::stable_sort(hosts.begin(), hosts.end(),
                   [](const MxHost& a, const MxHost& b) { return a.preference < b.preference; });
  answer.hosts = std::move(hosts);
  return answer;
}

TxtAnswer build_txt(RawAnswer raw) {
  TxtAnswer answer;
  answer.info = std::move(raw.info);
  if (answer.info.outcome != Outcome::ok) return answer;
  if (refuse_count(answer.info, raw.rdata.size())) return answer;
  for (const auto& rdata : raw.rdata) {
    auto text = parse_txt_rdata(rdata);
    if (!text) {
      fail_record(answer.info, "TXT", text.error());
      answer.texts.clear();
      return answer;
    }
    answer.texts.push_back(std::move(*text));
  }
  return answer;
}

TlsaAnswer build_tlsa(RawAnswer raw) {
  TlsaAnswer answer;
  answer.info = std::move(raw.info);
  if (answer.info.outcome != Outcome::ok) return answer;
  if (refuse_count(answer.info, raw.rdata.size())) return answer;
  for (const auto& rdata : raw.rdata) {
    auto tlsa = parse_tlsa_rdata(rdata);
    if (!tlsa) {
      fail_record(answer.info, "TLSA", tlsa.error());
      answer.records.clear();
      return answer;
    }
    answer.records.push_back(std::move(*tlsa));
  }
  return answer;
}

core::Result<std::string> normalize_name(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty())
    return core::fail(core::ErrorKind::invalid_input, "invalid domain name", "empty");
  if (name.size() > kMaxNameTextBytes) {
    return core::fail(core::ErrorKind::invalid_input, "invalid domain name", "name too long");
  }
  std::string out;
  out.reserve(name.size());
  std::size_t label = 0;
  for (const char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '.') {
      if (label == 0) {
        return core::fail(core::ErrorKind::invalid_input, "invalid domain name", "empty label");
      }
      label = 0;
      out.push_back('.');
      continue;
    }
    if (!is_name_char(c)) {
      return core::fail(core::ErrorKind::invalid_input, "invalid domain name",
                        "character other than a letter, digit, -, _ or .");
    }
    if (++label > kMaxLabelBytes) {
      return core::fail(core::ErrorKind::invalid_input, "invalid domain name", "label too long");
    }
    out.push_back(lower(c));
  }
  if (label == 0)
    return core::fail(core::ErrorKind::invalid_input, "invalid domain name", "empty label");
  return out;
}

std::vector<std::string> tlsa_query_names(const AnswerInfo& address_info, std::uint16_t port) {
  std::vector<std::string> names;
  if (address_info.outcome != Outcome::ok || address_info.security != Security::secure) {
    return names;
  }
  const std::string prefix = "_" + std::to_string(port) + "._tcp.";
  const std::string& expanded =
      address_info.canonical_name.empty() ? address_info.qname : address_info.canonical_name;
  names.push_back(prefix + expanded);
  if (!address_info.qname.empty() && address_info.qname != expanded) {
    names.push_back(prefix + address_info.qname);
  }
  return names;
}

}  // namespace mail::dns
