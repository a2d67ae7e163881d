#include "audit/checkpoint_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace audit {

std::string checkpoint_line(const store::AuditCheckpointRow& c) {
  nlohmann::json line = {
      {"count", c.count}, {"head_hash", c.head_hash}, {"time", c.time}, {"signature", c.signature}};
  return line.dump() + "\n";
}

core::Status append_checkpoint_line(const std::filesystem::path& path, const std::string& line) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return core::fail(core::ErrorKind::unavailable,
                      "cannot write " + path.string() + ": " + std::strerror(errno));
  }
  std::size_t done = 0;
  int err = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = errno;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  ::close(fd);
  if (err != 0) {
    return core::fail(core::ErrorKind::unavailable,
                      "cannot write " + path.string() + ": " + std::strerror(err));
  }
  return core::ok();
}

core::Result<std::vector<Checkpoint>> read_checkpoint_lines(const std::filesystem::path& path) {
  std::vector<Checkpoint> out;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return out;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return core::fail(core::ErrorKind::unavailable, "cannot read " + path.string());
  if (size > kMaxCheckpointLogBytes) {
    return core::fail(core::ErrorKind::too_large, path.string() + " is too large to check");
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (!in && !in.eof())
    return core::fail(core::ErrorKind::unavailable, "cannot read " + path.string());
  const std::optional<std::string> text = buffer.str();
  std::size_t start = 0;
  std::size_t number = 0;
  while (start < text->size()) {
    auto end = text->find('\n', start);
    if (end == std::string::npos) end = text->size();
    const std::string_view line(text->data() + start, end - start);
    start = end + 1;
    ++number;
    if (line.empty()) continue;
    auto json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    auto bad = [&] {
      return core::fail(
          core::ErrorKind::invalid_input,
          path.string() + " line " + std::to_string(number) + " is not a checkpoint line");
    };
    if (!json.is_object() || !json["count"].is_number_integer() || !json["head_hash"].is_string() ||
        !json["time"].is_number_integer() || !json["signature"].is_string()) {
      return bad();
    }
    out.push_back(Checkpoint{json["count"].get<std::int64_t>(),
                             json["head_hash"].get<std::string>(), json["time"].get<std::int64_t>(),
                             json["signature"].get<std::string>()});
  }
  return out;
}

}  // namespace audit
