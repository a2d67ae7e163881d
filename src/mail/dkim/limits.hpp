#pragma once
// Limits of DKIM signing and of the DKIM key record parser. Each says why.

#include <cstddef>

namespace mail::dkim {

// The largest message we sign: the MIME builder's two 10 MiB bodies, base64-grown, plus
// headers. Bounds the canonicalised copy of the body the signer makes.
inline constexpr std::size_t kMaxSignedMessageBytes = 32 * 1024 * 1024;
// A DKIM TXT record (all its strings joined). An RSA-8192 key is about 1.4 KB of base64;
// anything over 4 KiB is not a key record we could use.
inline constexpr std::size_t kMaxRecordBytes = 4096;
// RSA sizes: RFC 8301 §3.2 requires >= 1024 to verify and recommends >= 2048 to sign; we
// sign with >= 2048 only. 4096 is the most a single DNS TXT answer carries comfortably.
inline constexpr int kMinRsaBits = 2048;
inline constexpr int kMaxRsaBits = 4096;
inline constexpr int kDefaultRsaBits = 2048;
// A selector we create: its labels plus "-rsa" stay within a 63-byte DNS label.
inline constexpr std::size_t kMaxSelectorBytes = 59;
// A PEM private key file: an RSA-4096 key in PKCS#8 PEM is about 3.3 KB.
inline constexpr std::size_t kMaxKeyFileBytes = 16 * 1024;
// The DKIM-Signature header is folded to lines of at most this many columns (RFC 5322 §2.1.1).
inline constexpr std::size_t kFoldColumns = 78;

}  // namespace mail::dkim
