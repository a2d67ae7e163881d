// Test tool for tests/interop/test_dkim.py (built only with the tests): drives the real
// library code that `sealpost dkim init` and the outbound queue use, so that dkimpy can
// check what it produces.
//
//   dkim_sign_tool keys SECRETS_DIR SELECTOR ed25519|rsa
//       init_keys_blocking; prints one line per key: "<selector> <TXT record text>"
//   dkim_sign_tool sign SECRETS_DIR DOMAIN SELECTOR < spec.json > message.eml
//       build_message (mail::mime) from the JSON spec, then load_signer_blocking + sign;
//       writes the signed message's bytes. Time: the spec's "date" (Unix seconds).
//
// The JSON spec: {"from", "from_name"?, "to": [...], "cc"?: [...], "reply_to"?, "subject",
// "text", "html"?, "extra_headers"?: [[name, value], ...], "date", "seed"}.
// Exit status 0 on success; 1 with the error's public text and detail on stderr.

#include <cstdio>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

#include "mail/dkim/key_files.hpp"
#include "mail/mime/message.hpp"

namespace {

int report(const core::Error& e) {
  std::cerr << "error: " << e.public_text() << " (" << e.detail() << ")\n";
  return 1;
}

int keys(const std::string& dir, const std::string& selector, const std::string& alg) {
  const auto algorithm =
      alg == "rsa" ? mail::dkim::Algorithm::rsa_sha256 : mail::dkim::Algorithm::ed25519_sha256;
  auto made = mail::dkim::init_keys_blocking(dir, selector, algorithm);
  if (!made) return report(made.error());
  for (const auto& k : *made) std::cout << k.selector << ' ' << k.record << '\n';
  return 0;
}

core::Result<mail::Address> address(const nlohmann::json& j) {
  return mail::Address::parse(j.get<std::string>());
}

int sign(const std::string& dir, const std::string& domain, const std::string& selector) {
  const std::string input{std::istreambuf_iterator<char>(std::cin),
                          std::istreambuf_iterator<char>()};
  const auto j = nlohmann::json::parse(input);
  auto from = address(j.at("from"));
  if (!from) return report(from.error());
  mail::mime::MessageSpec spec{.from = *from};
  if (j.contains("from_name")) spec.from_name = j.at("from_name").get<std::string>();
  for (const auto* key : {"to", "cc"}) {
    if (!j.contains(key)) continue;
    for (const auto& a : j.at(key)) {
      auto parsed = address(a);
      if (!parsed) return report(parsed.error());
      (std::string(key) == "to" ? spec.to : spec.cc).push_back(*parsed);
    }
  }
  if (j.contains("reply_to")) {
    auto r = address(j.at("reply_to"));
    if (!r) return report(r.error());
    spec.reply_to = *r;
  }
  spec.subject = j.at("subject").get<std::string>();
  spec.text_body = j.at("text").get<std::string>();
  if (j.contains("html")) spec.html_body = j.at("html").get<std::string>();
  spec.message_id_domain = domain;
  if (j.contains("extra_headers")) {
    for (const auto& h : j.at("extra_headers"))
      spec.extra_headers.emplace_back(h.at(0).get<std::string>(), h.at(1).get<std::string>());
  }
  const core::TimePoint date{std::chrono::seconds(j.at("date").get<std::int64_t>())};
  core::FakeRng rng(j.at("seed").get<std::uint64_t>());

  auto built = mail::mime::build_message(spec, date, rng);
  if (!built) return report(built.error());
  auto signer = mail::dkim::load_signer_blocking(dir, domain, selector);
  if (!signer) return report(signer.error());
  auto signed_message = signer->sign(built->bytes, date);
  if (!signed_message) return report(signed_message.error());
  std::fwrite(signed_message->data(), 1, signed_message->size(), stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  if (command == "keys" && argc == 5) return keys(argv[2], argv[3], argv[4]);
  if (command == "sign" && argc == 5) return sign(argv[2], argv[3], argv[4]);
  std::cerr << "usage: dkim_sign_tool keys DIR SELECTOR ed25519|rsa\n"
               "       dkim_sign_tool sign DIR DOMAIN SELECTOR < spec.json\n";
  return 2;
}
