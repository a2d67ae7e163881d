#include "http/block_list.hpp"

#include <string>

namespace http {

void BlockList::replace(std::vector<Entry> entries) {
  auto next = std::make_shared<const std::vector<Entry>>(std::move(entries));
  std::lock_guard lock(mutex_);
  entries_ = std::move(next);
}

void BlockList::add(Entry entry) {
  std::lock_guard lock(mutex_);
  auto next = std::make_shared<std::vector<Entry>>(*entries_);
  next->push_back(std::move(entry));
  entries_ = std::move(next);
}

std::shared_ptr<const std::vector<BlockList::Entry>> BlockList::snapshot() const {
  std::lock_guard lock(mutex_);
  return entries_;
}

bool BlockList::blocked(std::string_view address, std::int64_t now) const {
  const auto entries = snapshot();
  if (entries->empty()) return false;
  boost::system::error_code ec;
  const auto parsed = boost::asio::ip::make_address(std::string(address), ec);
  if (ec) return false;
  const auto client = canonical(parsed);
  for (const auto& entry : *entries) {
    if (entry.until && *entry.until <= now) continue;
    if (entry.network.contains(client)) return true;
  }
  return false;
}

std::size_t BlockList::size() const { return snapshot()->size(); }

}  // namespace http
