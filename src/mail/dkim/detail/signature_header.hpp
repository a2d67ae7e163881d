#pragma once
// The DKIM-Signature header field's text, folded to kFoldColumns where the tags allow it
// (between tags, between h= names, inside base64: all places where RFC 6376 §3.2 allows FWS).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mail/dkim/key.hpp"

namespace mail::dkim::detail {

struct SignatureTags {
  Algorithm algorithm;
  std::string_view domain;
  std::string_view selector;
  std::int64_t timestamp;
  const std::vector<std::string>& signed_names;
  std::string_view body_hash;  // base64
};

// "DKIM-Signature: v=1; a=...; c=relaxed/relaxed; d=...; s=...; t=...; h=...; bh=...; b="
// folded, without a final CRLF: the text that is signed (relaxed) and then completed.
std::string signature_field_without_b(const SignatureTags& tags);
// The field with b='s value filled in after its "b=", folded, with the final CRLF.
std::string append_b(std::string_view field_without_b, std::string_view b_base64);

}  // namespace mail::dkim::detail
