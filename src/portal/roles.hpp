#pragma once
// The portal's roles (P4) by name, as on the wire and in the CLI. The store keeps them as a
// bit set of store::Role.
// Trust: names come from API bodies and the command line.

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "store/store.hpp"

namespace portal {

// A set of roles. The store keeps it as the bits of store::Role (UserRecord::roles); convert
// at that boundary, with Roles(bits) and bits().
class Roles {
 public:
  constexpr Roles() = default;
  constexpr explicit Roles(unsigned bits) : bits_(bits) {}
  constexpr Roles(std::initializer_list<store::Role> roles) {
    for (auto r : roles) bits_ |= static_cast<unsigned>(r);
  }
  constexpr bool has(store::Role r) const { return (bits_ & static_cast<unsigned>(r)) != 0; }
  // Whether the two sets share a role.
  constexpr bool any_of(Roles other) const { return (bits_ & other.bits_) != 0; }
  constexpr bool empty() const { return bits_ == 0; }
  constexpr unsigned bits() const { return bits_; }
  friend constexpr bool operator==(Roles, Roles) = default;

 private:
  unsigned bits_ = 0;
};

// The roles that may read submissions of the forms they are granted.
inline constexpr Roles kReaders{store::Role::staff, store::Role::form_owner, store::Role::admin};

std::string_view role_name(store::Role role);
// Parses a list of role names into a set; invalid_input naming the bad one, or for none.
core::Result<Roles> parse_roles(const std::vector<std::string>& names);
std::vector<std::string> role_names(Roles roles);

}  // namespace portal
