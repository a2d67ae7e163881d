#include "audit/entry.hpp"

#include <openssl/evp.h>

#include <array>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace audit {

namespace {

void field(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ':';
  out += std::to_string(value.size());
  out += ':';
  out += value;
  out += '\n';
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  // EVP_Digest only fails on allocation failure; there is no sensible value to return then.
  if (EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1 ||
      size != 32) {
    throw std::runtime_error("SHA-256 failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (unsigned int i = 0; i < size; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0x0f]);
  }
  return out;
}

std::string canonical(const Entry& e) {
  std::string out = "sealpost-audit-entry-v1\n";
  field(out, "seq", std::to_string(e.seq));
  field(out, "time", std::to_string(e.time));
  field(out, "actor", e.actor);
  field(out, "action", e.action);
  field(out, "object", e.object);
  field(out, "source", e.source);
  field(out, "outcome", e.outcome);
  field(out, "prev_hash", e.prev_hash);
  return out;
}

std::string chain_hash(const Entry& entry) { return sha256_hex(canonical(entry)); }

std::string checkpoint_payload(std::int64_t count, std::string_view head_hash, std::int64_t time) {
  std::string out = "sealpost-audit-checkpoint-v1\n";
  field(out, "count", std::to_string(count));
  field(out, "head_hash", head_hash);
  field(out, "time", std::to_string(time));
  return out;
}

Entry next_entry(const Entry* previous, std::int64_t time, std::string actor, std::string action,
                 std::string object, std::string source, std::string outcome) {
  Entry e;
  e.seq = previous ? previous->seq + 1 : 1;
  e.time = time;
  e.actor = std::move(actor);
  e.action = std::move(action);
  e.object = std::move(object);
  e.source = std::move(source);
  e.outcome = std::move(outcome);
  e.prev_hash = previous ? previous->hash : std::string(kGenesisHash);
  e.hash = chain_hash(e);
  return e;
}

std::string to_json_line(const Entry& e) {
  // nlohmann::json's object is a std::map: keys come out sorted.
  nlohmann::json j = {{"seq", e.seq},         {"time", e.time},           {"actor", e.actor},
                      {"action", e.action},   {"object", e.object},       {"source", e.source},
                      {"outcome", e.outcome}, {"prev_hash", e.prev_hash}, {"hash", e.hash}};
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace audit
