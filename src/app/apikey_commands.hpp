#pragma once
// `sealpost apikey add|list|revoke`: keys of the HTTP messages API (issue 8). Each returns
// the process exit code; errors print one line to stderr. A key is printed once, by `add`;
// the store keeps only its hash (auth/api_key.hpp).

#include <string>
#include <vector>

namespace app {

// Every add and revoke is audited (apikey.add / apikey.revoke, the key's id), committed in
// the unit of work that makes the change.
int run_apikey_add(const std::string& data_dir, const std::string& name,
                   const std::vector<std::string>& scopes);
int run_apikey_list(const std::string& data_dir);
int run_apikey_revoke(const std::string& data_dir, const std::string& id);

}  // namespace app
