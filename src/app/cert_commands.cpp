// `sealpost cert`. Trust: the certificate file is untrusted bytes (size-limited, parsed by
// crypto::parse_certificate); the CA file is the operator's configuration.
#include "app/cert_commands.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

#include "app/cli_support.hpp"
#include "app/commands.hpp"
#include "app/config.hpp"
#include "app/files.hpp"
#include "core/log.hpp"
#include "crypto/smime.hpp"

namespace app {
namespace {

// A CA bundle: a few hundred certificates at most.
constexpr std::size_t kMaxCaFileBytes = 4 << 20;

std::string day_of(std::int64_t t) {
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

}  // namespace

int run_cert_import(const std::string& data_dir, const std::string& file, bool pin, bool aes_gcm) {
  DataDir dir(data_dir);
  auto config = load_config(dir);
  if (!config) return fail_line(config.error().public_text());
  auto text = read_file(file, crypto::kMaxCertFileBytes);
  if (!text) return fail_line(text.error().public_text());
  auto info = crypto::parse_certificate(
      std::span(reinterpret_cast<const std::uint8_t*>(text->data()), text->size()));
  if (!info) return fail_line(core::log_safe(file) + ": " + info.error().public_text());
  std::string ca;
  if (!pin && !config->mail.smime_ca_file.empty()) {
    auto read = read_file(config->mail.smime_ca_file, kMaxCaFileBytes);
    if (!read) return fail_line("[mail] smime_ca_file: " + read.error().public_text());
    ca = std::move(*read);
  }
  core::SystemClock clock;
  const auto now = clock.now();
  if (auto ok = crypto::check_recipient_cert(*info, ca, pin, now); !ok) {
    return fail_line(core::log_safe(file) + ": " + ok.error().public_text());
  }
  const store::CertRecord record{.sha256 = info->sha256,
                                 .pem = info->pem,
                                 .emails = info->emails,
                                 .subject = info->subject,
                                 .not_before = info->not_before,
                                 .not_after = info->not_after,
                                 .pinned = pin,
                                 .aes_gcm = aes_gcm,
                                 .imported_at = core::unix_seconds(now)};
  auto store = open_store(dir);
  if (!store) return fail_line(store.error().public_text());
  auto audit = CliAudit::open(dir, **store);
  if (!audit) return fail_line(audit.error().public_text());
  if (auto s = (*audit)->change("import certificate", "cert.import",
                                [&](store::Store& tx) -> core::Result<std::string> {
                                  if (auto put = tx.forms().put_cert_blocking(record); !put)
                                    return core::fail(put.error());
                                  return fmt::format("cert:{} pinned:{} cipher:{}", record.sha256,
                                                     pin ? "yes" : "no",
                                                     aes_gcm ? "aes-256-gcm" : "aes-256-cbc");
                                });
      !s) {
    return fail_line(s.error().public_text());
  }
  if (auto s = (*audit)->finish(); !s) return fail_line(s.error().public_text());
  (*store)->close();
  std::printf("%s %s until %s%s%s\n", record.sha256.c_str(), joined(record.emails).c_str(),
              day_of(record.not_after).c_str(), pin ? " pinned" : "",
              aes_gcm ? " aes-256-gcm" : "");
  return 0;
}

int run_cert_list(const std::string& data_dir) {
  DataDir dir(data_dir);
  auto store = open_store(dir);
  if (!store) return fail_line(store.error().public_text());
  auto certs = (*store)->forms().list_certs_blocking();
  if (!certs) return fail_line(certs.error().public_text());
  for (const auto& c : *certs) {
    std::printf("%s %s until %s%s%s  %s\n", c.sha256.c_str(),
                core::log_safe(joined(c.emails)).c_str(), day_of(c.not_after).c_str(),
                c.pinned ? " pinned" : "", c.aes_gcm ? " aes-256-gcm" : "",
                core::log_safe(c.subject).c_str());
  }
  (*store)->close();
  return 0;
}

int run_cert_remove(const std::string& data_dir, const std::string& sha256_arg) {
  std::string sha256;
  for (char c : sha256_arg) {
    if (c == ':' || c == ' ') continue;
    sha256 += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  if (sha256.size() != 64 || !std::all_of(sha256.begin(), sha256.end(), [](char c) {
        return std::isxdigit(static_cast<unsigned char>(c)) != 0;
      })) {
    return fail_line("the certificate's id is its SHA-256: 64 hex digits (cert list)");
  }
  if (auto s = run_audited_change(data_dir, "remove certificate", "cert.remove",
                                  [&](store::Store& tx) -> core::Result<std::string> {
                                    if (auto r = tx.forms().remove_cert_blocking(sha256); !r)
                                      return core::fail(r.error());
                                    return "cert:" + sha256;
                                  });
      !s) {
    return fail_line(s.error().public_text());
  }
  return 0;
}

}  // namespace app
