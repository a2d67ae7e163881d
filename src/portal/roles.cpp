#include "portal/roles.hpp"

#include <fmt/format.h>

namespace portal {

using core::ErrorKind;
using store::Role;

namespace {

constexpr Role kAllRoles[] = {Role::admin, Role::form_owner, Role::staff, Role::reviewer,
                              Role::auditor};

// An unknown name is quoted back without control characters and at most 254 bytes.
std::string printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 254)) {
    out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c);
  }
  return out;
}

}  // namespace

std::string_view role_name(Role role) {
  switch (role) {
    case Role::admin:
      return "admin";
    case Role::form_owner:
      return "form_owner";
    case Role::staff:
      return "staff";
    case Role::reviewer:
      return "reviewer";
    case Role::auditor:
      return "auditor";
  }
  return "unknown";
}

core::Result<Roles> parse_roles(const std::vector<std::string>& names) {
  unsigned roles = 0;
  for (const auto& name : names) {
    bool known = false;
    for (Role r : kAllRoles) {
      if (name == role_name(r)) {
        roles |= static_cast<unsigned>(r);
        known = true;
      }
    }
    if (!known) {
      return core::fail(ErrorKind::invalid_input,
                        fmt::format("unknown role \"{}\" (roles: admin, form_owner, staff, "
                                    "reviewer, auditor)",
                                    printable(name)));
    }
  }
  if (roles == 0) return core::fail(ErrorKind::invalid_input, "give at least one role");
  return Roles(roles);
}

std::vector<std::string> role_names(Roles roles) {
  std::vector<std::string> out;
  for (Role r : kAllRoles) {
    if (roles.has(r)) out.emplace_back(role_name(r));
  }
  return out;
}

}  // namespace portal
