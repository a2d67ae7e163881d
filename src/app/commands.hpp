#pragma once
// The subcommands. Each returns the process exit code; errors print one line to stderr.

#include <optional>
#include <string>
#include <vector>

namespace app {

// `database`: empty for SQLite, or a postgresql:// URI; `database_password_file` is copied
// to DIR/secrets/database-password.
int run_init(const std::string& data_dir, const std::string& hostname, const std::string& database,
             const std::string& database_password_file);
int run_key_import(const std::string& data_dir, const std::string& file);
int run_key_list(const std::string& data_dir);
int run_form_add(const std::string& data_dir, const std::string& file);
int run_form_list(const std::string& data_dir);
int run_form_show(const std::string& data_dir, const std::string& form_id);
int run_form_disable(const std::string& data_dir, const std::string& form_id);
int run_export(const std::string& data_dir, const std::string& form_id, const std::string& out,
               const std::optional<std::string>& since);
int run_serve(const std::string& data_dir, const std::optional<std::string>& https_listen,
              const std::optional<std::string>& http_listen,
              const std::optional<std::string>& admin_listen = std::nullopt,
              const std::optional<std::string>& submission_listen = std::nullopt,
              const std::optional<std::string>& submissions_listen = std::nullopt);
// `audit verify`: exit 0 and one summary line when the chain is intact, else one
// "sealpost: audit trail broken at entry K: <reason>" line and exit 1.
// `checkpoints`: files of checkpoint lines an auditor saved (`--checkpoint FILE`), checked
// like the node's own DATA/audit-checkpoints.log.
int run_audit_verify(const std::string& data_dir, const std::vector<std::string>& checkpoints);
// `audit export`: the trail as JSON lines (one entry per line), to `out` or stdout.
int run_audit_export(const std::string& data_dir, const std::optional<std::string>& out);

// Prints "sealpost: <message>" on one line to stderr and returns 1.
int run_user_add(const std::string& data_dir, const std::string& email,
                 const std::vector<std::string>& roles);
int run_user_link(const std::string& data_dir, const std::string& email);
int run_user_list(const std::string& data_dir);
// `block add|list|remove` (F10): `cidr` is an address or a network (a clear error
// otherwise); `until` a duration (2h, 7d) or a UTC time; every change is audited and
// reaches every running node within a second.
int run_block_add(const std::string& data_dir, const std::string& cidr,
                  const std::optional<std::string>& until, const std::string& reason);
int run_block_list(const std::string& data_dir);
int run_block_remove(const std::string& data_dir, const std::string& cidr);
int fail_line(const std::string& message);
// `migrate --to URI`: copies this SQLite installation into an empty PostgreSQL database,
// proves the copy (row counts, SHA-256 of every table, the audit chain) and only then
// switches sealpost.toml to it.
int run_migrate(const std::string& data_dir, const std::string& target,
                const std::string& database_password_file);

}  // namespace app
