#pragma once
// Files from web/ (templates, CSS) embedded into the binary at build time.

#include <optional>
#include <string_view>

namespace forms {

// `name` is relative to web/, e.g. "templates/form.mustache".
std::optional<std::string_view> asset(std::string_view name);

}  // namespace forms
