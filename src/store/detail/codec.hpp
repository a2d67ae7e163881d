#pragma once
// Column encodings shared by the aggregates' queries: lists of short strings as JSON
// arrays, and the fixed public texts of the store's errors.

#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace store::detail {

inline constexpr const char* kStoreIntegrity = "stored data failed an integrity check";
inline constexpr const char* kStoreInternal = "internal error in the store";

// Lists of short strings (recipient fingerprints, key user ids) as a JSON array of strings.
// invalid_input for a string that is not UTF-8.
core::Result<std::string> encode_strings(const std::vector<std::string>& items,
                                         std::string_view what);
// integrity if the stored text is not such an array.
core::Result<std::vector<std::string>> decode_strings(const std::string& text);

// LIMIT takes a signed 64-bit value; also caps at `cap`.
std::int64_t sql_limit(std::size_t limit, std::size_t cap);

}  // namespace store::detail
