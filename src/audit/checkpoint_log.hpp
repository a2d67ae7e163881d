#pragma once
// The audit trail's checkpoints, kept outside the database too (A8): each node appends
// every checkpoint it signs to DATA/audit-checkpoints.log, one JSON object per line
// {"count", "head_hash", "time", "signature"}. Someone who deletes the tail of the trail
// together with its checkpoint rows still meets these lines in `audit verify`. An auditor
// may save a line and hand it back later (`audit verify --checkpoint FILE`).
// Trust: the lines are checked (signature, shape) before they are believed.

#include <filesystem>
#include <string>
#include <vector>

#include "audit/entry.hpp"
#include "core/result.hpp"
#include "store/records.hpp"

namespace audit {

// A log larger than this is refused rather than read (about 800,000 checkpoints: more than
// a year at one a minute).
inline constexpr std::size_t kMaxCheckpointLogBytes = 512u << 20;

std::string checkpoint_line(const store::AuditCheckpointRow& checkpoint);

// Appends one line (O_APPEND, mode 0600, fsynced): durable before the caller goes on.
core::Status append_checkpoint_line(const std::filesystem::path& path, const std::string& line);

// Every checkpoint in the file; a missing file is an empty list. invalid_input naming the
// line for anything that is not a checkpoint line.
core::Result<std::vector<Checkpoint>> read_checkpoint_lines(const std::filesystem::path& path);

}  // namespace audit
