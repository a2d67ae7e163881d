#pragma once
// The bytes of src/auth/common-passwords.txt, embedded at build time by
// cmake/EmbedText.cmake. Private to auth: password.cpp parses it once into a sorted table.

#include <string_view>

namespace auth::detail {

std::string_view common_passwords_text();

}  // namespace auth::detail
