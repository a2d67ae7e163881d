// Benchmark of message-level encryption (issue 9): messages per second that
// mime::build_message seals through mail::secure::Sealer, as `mail send --security encrypt`
// does before DKIM signing and queueing, for PGP/MIME (RNP: sign with the server's Ed25519
// key, encrypt to one recipient key) and S/MIME (OpenSSL CMS: sign with the organisation's
// RSA certificate, envelope to one RSA recipient, AES-256-CBC and AES-256-GCM), each for a
// 5 KB and a 1 MB text body. One thread. Prints msgs/s and the p50/p99 time of one message;
// asserts nothing.
// Run by bench/mail/seal.sh, which makes the keys and certificates:
//   sealpost_mail_seal_bench SIGNING_KEY.sec.asc RECIPIENT.asc ORG.pem ORG.key RECIPIENT.pem
// Trust: benchmark-only; its inputs are files the script just made.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "core/rng.hpp"
#include "core/secret.hpp"
#include "crypto/smime.hpp"
#include "mail/mime/message.hpp"
#include "mail/secure/sealer.hpp"

namespace {

std::string slurp(const char* path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// A text body of `bytes`: lines of 76 printable characters.
std::string body_of(std::size_t bytes) {
  std::string line =
      "The results of your examination are attached below; call us with "
      "questions.\n";
  std::string out;
  while (out.size() + line.size() <= bytes) out += line;
  out.append(bytes - out.size(), 'x');
  return out;
}

void run(const char* name, const mail::secure::Sealer& sealer,
         const std::vector<mail::secure::Choice>& choices, std::size_t bytes) {
  auto from = mail::Address::parse("forms@clinic.example");
  auto to = mail::Address::parse("patient@example.net");
  mail::mime::MessageSpec spec{.from = *from, .to = {*to}};
  spec.subject = "Your results";
  spec.text_body = body_of(bytes);
  spec.message_id_domain = "clinic.example";
  auto sealing = sealer.sealing_for(choices);
  if (!sealing) {
    std::printf("%s: %s\n", name, sealing.error().detail().c_str());
    return;
  }
  spec.sealing = *sealing;
  core::SystemRng rng;
  const auto start = std::chrono::steady_clock::now();
  std::size_t count = 0;
  std::size_t out_bytes = 0;
  double seconds = 0;
  std::vector<double> ms;  // one entry per message
  // At least 20 messages and 5 seconds.
  while (count < 20 || seconds < 5.0) {
    const auto t0 = std::chrono::steady_clock::now();
    auto built = mail::mime::build_message(spec, std::chrono::system_clock::now(), rng);
    if (!built) {
      std::printf("%s: %s\n", name, built.error().detail().c_str());
      return;
    }
    const auto t1 = std::chrono::steady_clock::now();
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    out_bytes = built->bytes.size();
    ++count;
    seconds = std::chrono::duration<double>(t1 - start).count();
  }
  std::sort(ms.begin(), ms.end());
  const auto pct = [&](double p) {
    return ms[std::min(ms.size() - 1,
                       static_cast<std::size_t>(p * static_cast<double>(ms.size())))];
  };
  std::printf("| sealpost %-22s | %8zu | %6zu | %9.1f | %8.2f | %8.2f | %9zu |\n", name, bytes,
              count, static_cast<double>(count) / seconds, pct(0.50), pct(0.99), out_bytes);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr,
                 "usage: %s SIGNING_KEY.sec.asc RECIPIENT.asc ORG.pem ORG.key RECIPIENT.pem\n",
                 argv[0]);
    return 2;
  }
  const core::SecretBytes signing(slurp(argv[1]));
  const std::string recipient_key = slurp(argv[2]);
  const crypto::SmimeSigner org{.cert_pem = slurp(argv[3]),
                                .key_pem = core::SecretBytes(slurp(argv[4]))};
  const std::string recipient_cert = slurp(argv[5]);
  const mail::secure::Sealer sealer(signing, &org, "");
  const std::vector<mail::secure::Choice> pgp{
      {.method = mail::secure::Method::pgp_mime, .id = "recipient", .material = recipient_key}};
  const std::vector<mail::secure::Choice> cbc{{.method = mail::secure::Method::smime,
                                               .id = "recipient",
                                               .material = recipient_cert,
                                               .aes_gcm = false}};
  std::vector<mail::secure::Choice> gcm = cbc;
  gcm.front().aes_gcm = true;
  std::printf(
      "| what                            | body (B) | msgs   | msgs/s    | p50 (ms) | p99 (ms) | "
      "out (B)   |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  for (const std::size_t bytes : {std::size_t{5 * 1024}, std::size_t{1024 * 1024}}) {
    run("PGP/MIME", sealer, pgp, bytes);
    run("S/MIME AES-256-CBC", sealer, cbc, bytes);
    run("S/MIME AES-256-GCM", sealer, gcm, bytes);
  }
  return 0;
}
