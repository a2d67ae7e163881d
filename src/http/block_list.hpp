#pragma once
// Trust: the networks come from the store (an administrator's `sealpost block add`, or the
// automatic rule); the address tested is the client address client_address() decided.
//
// The networks this node refuses (F10). Every request is tested against it, so a lookup
// takes a lock only to copy a pointer; a reload swaps the whole list. An entry whose
// `until` has passed stops matching at once, without waiting for a reload.

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "http/client_address.hpp"

namespace http {

class BlockList {
 public:
  struct Entry {
    Cidr network;
    std::optional<std::int64_t> until;  // unix seconds; nullopt: until removed
  };

  // Replaces the whole list (a reload from the store).
  void replace(std::vector<Entry> entries);
  // Adds one entry now (an automatic block, before the reload that will also bring it).
  void add(Entry entry);
  // Whether `address` (an IP address as text) is in a network blocked at `now` (unix
  // seconds). Text that is not an address is never blocked: client_address() only ever
  // gives addresses, and a test must not fail open or closed on garbage by accident.
  bool blocked(std::string_view address, std::int64_t now) const;
  std::size_t size() const;

 private:
  std::shared_ptr<const std::vector<Entry>> snapshot() const;
  mutable std::mutex mutex_;
  std::shared_ptr<const std::vector<Entry>> entries_ = std::make_shared<std::vector<Entry>>();
};

}  // namespace http
