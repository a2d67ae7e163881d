#pragma once
// Trust: untrusted network input (RDATA from DNS answers, through a resolver).
//
// Parsers of the RDATA of MX, TXT and TLSA records (wire form, RFC 1035 3.3.9 and 3.3.14,
// RFC 6698 2.1; names uncompressed, as libunbound hands them over), and the builders that
// turn a RawAnswer into a typed answer. Pure; every size is bounded by limits.hpp.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "mail/dns/answer.hpp"

namespace mail::dns {

using Bytes = std::span<const std::uint8_t>;

// An uncompressed domain name at the start of `wire`: on success, the name in text (lower
// case, no trailing dot, "" for the root) and `consumed` set to its wire length. Refuses
// compression pointers, labels over 63 bytes, names over 255 bytes, and label bytes other
// than letters, digits, '-' and '_' (a name we could not use as a host name or log safely).
core::Result<std::string> parse_name(Bytes wire, std::size_t& consumed);

// MX RDATA: 16-bit preference, exchange name; nothing may follow.
core::Result<MxHost> parse_mx_rdata(Bytes rdata);

// TXT RDATA: one or more <length><bytes> character-strings, joined without separators.
// Refuses an empty RDATA, a string running past the end, and a joined text over kMaxTxtBytes.
core::Result<std::string> parse_txt_rdata(Bytes rdata);

// TLSA RDATA: usage, selector, matching type (one byte each), then the association data
// (at least one byte, at most kMaxTlsaDataBytes).
core::Result<TlsaRecord> parse_tlsa_rdata(Bytes rdata);

// Typed answers from what the resolver returned. When `raw.info.outcome` is ok, each RDATA
// is parsed; a malformed record or more than kMaxRecordsPerAnswer records makes the whole
// answer servfail (with `detail` saying why) rather than a partial RRset. Otherwise the
// info is kept and the lists are empty.
//
// build_mx also recognises the null MX (a single "0 ." record, RFC 7505); a root exchange
// among other records is a misconfiguration and is left out of `hosts`, with `detail`
// noting it. It never sets implicit_mx: that needs an address lookup (Resolver does it).
MxAnswer build_mx(RawAnswer raw);
TxtAnswer build_txt(RawAnswer raw);
TlsaAnswer build_tlsa(RawAnswer raw);

// A name as the resolver's caller gives it, normalised: lower case, one trailing dot
// removed. Refuses empty names, names over kMaxNameTextBytes, empty labels, labels over
// kMaxLabelBytes, and characters other than letters, digits, '-', '_' and '.'.
core::Result<std::string> normalize_name(std::string_view name);

// RFC 7672 2.2.2: where to look for TLSA records of an MX host, given its address answer.
// Empty when DANE cannot apply (the addresses are not authenticated: insecure, bogus or
// failed). Otherwise "_25._tcp." + the CNAME-expanded name, then, if the host was an
// alias, "_25._tcp." + the original name (tried when the first has no TLSA records).
std::vector<std::string> tlsa_query_names(const AnswerInfo& address_info, std::uint16_t port = 25);

}  // namespace mail::dns
