#include "crypto/detail/rnp_handles.hpp"

namespace crypto::detail {

std::string rnp_detail(std::string_view what, rnp_result_t rc) {
  std::string out(what);
  out += ": ";
  const char* text = rnp_result_to_string(rc);
  out += text != nullptr ? text : "unknown RNP error";
  return out;
}

core::Result<Ffi> make_ffi() {
  rnp_ffi_t raw = nullptr;
  const rnp_result_t rc = rnp_ffi_create(&raw, "GPG", "GPG");
  Ffi ffi(raw);
  if (rc != RNP_SUCCESS) {
    return core::fail(core::ErrorKind::internal, "OpenPGP library failure",
                      rnp_detail("rnp_ffi_create", rc));
  }
  return ffi;
}

namespace {

bool read_nothing(void* /*ctx*/, void* /*buf*/, std::size_t /*len*/, std::size_t* read) {
  *read = 0;
  return true;
}

}  // namespace

core::Result<Input> input_from(std::span<const std::uint8_t> bytes) {
  rnp_input_t raw = nullptr;
  // RNP refuses an empty memory input, so an empty one is a reader that is at its end.
  const rnp_result_t rc =
      bytes.empty() ? rnp_input_from_callback(&raw, read_nothing, nullptr, nullptr)
                    : rnp_input_from_memory(&raw, bytes.data(), bytes.size(), /*do_copy=*/false);
  Input input(raw);
  if (rc != RNP_SUCCESS) {
    return core::fail(core::ErrorKind::internal, "OpenPGP library failure",
                      rnp_detail("rnp_input_from", rc));
  }
  return input;
}

core::Result<Output> memory_output() {
  rnp_output_t raw = nullptr;
  const rnp_result_t rc = rnp_output_to_memory(&raw, 0);
  Output output(raw);
  if (rc != RNP_SUCCESS) {
    return core::fail(core::ErrorKind::internal, "OpenPGP library failure",
                      rnp_detail("rnp_output_to_memory", rc));
  }
  return output;
}

std::span<const std::uint8_t> memory_output_bytes(rnp_output_t output) {
  std::uint8_t* buf = nullptr;
  std::size_t len = 0;
  if (rnp_output_memory_get_buf(output, &buf, &len, /*do_copy=*/false) != RNP_SUCCESS ||
      buf == nullptr) {
    return {};
  }
  return {buf, len};
}

namespace {

bool write_secret(void* ctx, const void* buf, std::size_t len) {
  static_cast<core::SecretBytes*>(ctx)->append(
      std::string_view(static_cast<const char*>(buf), len));
  return true;
}

void close_secret(void* /*ctx*/, bool /*discard*/) {}

}  // namespace

core::Result<Output> secret_output(core::SecretBytes& sink) {
  rnp_output_t raw = nullptr;
  const rnp_result_t rc = rnp_output_to_callback(&raw, write_secret, close_secret, &sink);
  Output output(raw);
  if (rc != RNP_SUCCESS) {
    return core::fail(core::ErrorKind::internal, "OpenPGP library failure",
                      rnp_detail("rnp_output_to_callback", rc));
  }
  return output;
}

core::Result<Key> locate_by_fingerprint(rnp_ffi_t ffi, const std::string& hex) {
  rnp_key_handle_t raw = nullptr;
  const rnp_result_t rc = rnp_locate_key(ffi, "fingerprint", hex.c_str(), &raw);
  Key key(raw);
  if (rc != RNP_SUCCESS) {
    return core::fail(core::ErrorKind::internal, "OpenPGP library failure",
                      rnp_detail("rnp_locate_key", rc));
  }
  return key;
}

}  // namespace crypto::detail
