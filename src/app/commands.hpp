#pragma once
// The subcommands. Each returns the process exit code; errors print one line to stderr.

#include <optional>
#include <string>

namespace app {

int run_init(const std::string& data_dir, const std::string& hostname);
int run_key_import(const std::string& data_dir, const std::string& file);
int run_key_list(const std::string& data_dir);
int run_form_add(const std::string& data_dir, const std::string& file);
int run_form_list(const std::string& data_dir);
int run_form_show(const std::string& data_dir, const std::string& form_id);
int run_form_disable(const std::string& data_dir, const std::string& form_id);
int run_export(const std::string& data_dir, const std::string& form_id, const std::string& out,
               const std::optional<std::string>& since);
int run_serve(const std::string& data_dir, const std::optional<std::string>& https_listen,
              const std::optional<std::string>& http_listen);

// Prints "sealpost: <message>" on one line to stderr and returns 1.
int fail_line(const std::string& message);

}  // namespace app
