#pragma once
// Owning wrappers for RNP's FFI handles, so every early return releases what it took.
// Internal to crypto/: no other module includes this file.

#include <rnp/rnp.h>
#include <rnp/rnp_err.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "core/secret.hpp"

namespace crypto::detail {

template <auto Destroy>
struct RnpDeleter {
  template <class T>
  void operator()(T* handle) const noexcept {
    if (handle != nullptr) Destroy(handle);
  }
};

using Ffi = std::unique_ptr<rnp_ffi_st, RnpDeleter<rnp_ffi_destroy>>;
using Input = std::unique_ptr<rnp_input_st, RnpDeleter<rnp_input_destroy>>;
using Output = std::unique_ptr<rnp_output_st, RnpDeleter<rnp_output_destroy>>;
using Key = std::unique_ptr<rnp_key_handle_st, RnpDeleter<rnp_key_handle_destroy>>;
using Uid = std::unique_ptr<rnp_uid_handle_st, RnpDeleter<rnp_uid_handle_destroy>>;
using OpEncrypt = std::unique_ptr<rnp_op_encrypt_st, RnpDeleter<rnp_op_encrypt_destroy>>;
using OpGenerate = std::unique_ptr<rnp_op_generate_st, RnpDeleter<rnp_op_generate_destroy>>;
using OpSign = std::unique_ptr<rnp_op_sign_st, RnpDeleter<rnp_op_sign_destroy>>;
using OpVerify = std::unique_ptr<rnp_op_verify_st, RnpDeleter<rnp_op_verify_destroy>>;
using IdIterator =
    std::unique_ptr<rnp_identifier_iterator_st, RnpDeleter<rnp_identifier_iterator_destroy>>;

// A string allocated by RNP (freed with rnp_buffer_destroy).
struct RnpStringDeleter {
  void operator()(char* s) const noexcept { rnp_buffer_destroy(s); }
};
using RnpString = std::unique_ptr<char, RnpStringDeleter>;

// "what: RNP's own error text", for Error::detail only (never for a public text).
std::string rnp_detail(std::string_view what, rnp_result_t rc);

// A fresh, empty FFI object with the GPG keyring formats.
core::Result<Ffi> make_ffi();

// Reads `bytes` without copying them: `bytes` must outlive the returned input.
core::Result<Input> input_from(std::span<const std::uint8_t> bytes);

// A growing memory output, for public data (ciphertext, public keys).
core::Result<Output> memory_output();
// The bytes written so far to a memory_output().
std::span<const std::uint8_t> memory_output_bytes(rnp_output_t output);

// An output that writes straight into `sink` (for secret-key material, so that the only
// copy we keep is one that is wiped on destruction). `sink` must outlive the output.
core::Result<Output> secret_output(core::SecretBytes& sink);

// Looks a key up by its 40-hex-digit fingerprint; a null Key when absent.
core::Result<Key> locate_by_fingerprint(rnp_ffi_t ffi, const std::string& hex);

}  // namespace crypto::detail
