#pragma once
// Limits of the MIME builder and of the address parser. Each says why it is what it is.

#include <cstddef>

namespace mail::mime {

// RFC 5321 §4.5.3.1.3: a path is at most 256 octets including the angle brackets.
inline constexpr std::size_t kMaxAddressBytes = 254;
// RFC 5321 §4.5.3.1.1.
inline constexpr std::size_t kMaxLocalPartBytes = 64;
// RFC 1035 §2.3.4 (255 on the wire is 253 in text without the final dot).
inline constexpr std::size_t kMaxDomainBytes = 253;
inline constexpr std::size_t kMaxLabelBytes = 63;

// Our notifications have short subjects; anything longer is a caller's bug, not a message.
// GMime folds and RFC 2047-encodes it, so it never makes a line longer than 998 octets.
inline constexpr std::size_t kMaxSubjectBytes = 512;
// A person's or an organisation's name in From; longer names are not names.
inline constexpr std::size_t kMaxDisplayNameBytes = 256;
// Each body (text and html); a notification is a few kilobytes, a campaign far below this.
// Bounds the builder's memory: a message is about 1.37 times its bodies once encoded.
inline constexpr std::size_t kMaxBodyBytes = 10 * 1024 * 1024;
// To + Cc. RFC 5321 §4.5.3.1.8: a server must accept at least 100 recipients per message.
inline constexpr std::size_t kMaxRecipients = 100;
// Extra header fields (List-Unsubscribe, Auto-Submitted, ...), count and value size. A
// List-Unsubscribe with an https and a mailto URI fits comfortably.
inline constexpr std::size_t kMaxExtraHeaders = 16;
inline constexpr std::size_t kMaxExtraHeaderValueBytes = 2048;
// A delivery status notification: the remote reply quoted, the original header returned.
inline constexpr std::size_t kMaxDiagnosticBytes = 512;
inline constexpr std::size_t kMaxOriginalHeaderBytes = 64 * 1024;

}  // namespace mail::mime
