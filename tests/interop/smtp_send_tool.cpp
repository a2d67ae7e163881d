// Test driver for mail::smtp::Session: sends one message (or the same message several times
// on one connection) to a real SMTP receiver and prints every DeliveryReport as JSON, so the
// interop tests can compare what the session reported with what the receiver recorded.
//
//   smtp_send_tool --ip 127.0.0.1 --port 2525 --mx mx.sealpost.test --ehlo client.test
//       --level verify --ca-file ca.pem [--name N]... [--tlsa "3 1 1 <hex>"]...
//       --from a@x --to b@y [--to c@z]... --message FILE [--timeout-ms N] [--idle-ms N]
//       [--transactions N] [--smtputf8] [--wait-ms N]
// --wait-ms: after the last transaction, wait this long, print whether the session is still
// usable ("usable_after_wait"), then QUIT (to see the idle limit close it first).
// Exit status 0 whenever reports were printed (the outcome is in the JSON), 2 on bad usage.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "core/log.hpp"
#include "mail/smtp/session.hpp"

namespace {

using mail::smtp::DeliveryReport;
using nlohmann::json;

int usage(const std::string& why) {
  std::cerr << "smtp_send_tool: " << why << "\n";
  return 2;
}

bool parse_level(const std::string& s, mail::smtp::TlsLevel* level) {
  using mail::smtp::TlsLevel;
  for (TlsLevel l :
       {TlsLevel::none, TlsLevel::may, TlsLevel::encrypt, TlsLevel::verify, TlsLevel::dane}) {
    if (mail::smtp::tls_level_name(l) == s) {
      *level = l;
      return true;
    }
  }
  return false;
}

bool parse_tlsa(const std::string& s, mail::smtp::Tlsa* record) {
  std::istringstream in(s);
  unsigned usage = 0, selector = 0, mtype = 0;
  std::string hex;
  if (!(in >> usage >> selector >> mtype >> hex)) return false;
  if (hex.size() % 2 != 0) return false;
  record->usage = static_cast<std::uint8_t>(usage);
  record->selector = static_cast<std::uint8_t>(selector);
  record->mtype = static_cast<std::uint8_t>(mtype);
  record->data.clear();
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    record->data.push_back(static_cast<std::uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
  }
  return true;
}

json to_json(const DeliveryReport& report) {
  json out;
  out["reused"] = report.reused_connection;
  out["usable"] = report.connection_usable;
  const auto& t = report.tls;
  out["tls"] = {{"tls", t.tls},
                {"version", t.version},
                {"cipher", t.cipher},
                {"verified", mail::smtp::verification_name(t.verified)},
                {"peer_subject", t.peer_subject},
                {"matched_name", t.matched_name},
                {"failure", t.failure},
                {"handshake_failed", t.handshake_failed}};
  out["recipients"] = json::array();
  for (const auto& r : report.recipients) {
    out["recipients"].push_back({{"recipient", r.recipient},
                                 {"outcome", mail::smtp::outcome_name(r.status.outcome)},
                                 {"code", r.status.code},
                                 {"enhanced", r.status.enhanced},
                                 {"text", r.status.text},
                                 {"stage", mail::smtp::stage_name(r.status.stage)},
                                 {"from_server", r.status.from_server}});
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  core::init_logging("info");
  mail::smtp::Destination dest;
  mail::smtp::Transaction tx;
  std::string message_file;
  int transactions = 1;
  long wait_ms = 0;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) throw std::runtime_error("missing value after " + a);
      return args[++i];
    };
    try {
      if (a == "--ip") {
        dest.address = boost::asio::ip::make_address(value());
      } else if (a == "--port") {
        dest.port = static_cast<std::uint16_t>(std::stoul(value()));
      } else if (a == "--mx") {
        dest.mx_host = value();
      } else if (a == "--ehlo") {
        dest.ehlo_name = value();
      } else if (a == "--level") {
        if (!parse_level(value(), &dest.tls.level)) return usage("bad --level");
      } else if (a == "--name") {
        dest.tls.acceptable_names.push_back(value());
      } else if (a == "--ca-file") {
        dest.tls.ca_file = value();
      } else if (a == "--tlsa") {
        mail::smtp::Tlsa record;
        if (!parse_tlsa(value(), &record)) return usage("bad --tlsa");
        dest.tls.tlsa.push_back(std::move(record));
      } else if (a == "--from") {
        tx.sender = value();
      } else if (a == "--to") {
        tx.recipients.push_back(value());
      } else if (a == "--message") {
        message_file = value();
      } else if (a == "--timeout-ms") {
        const std::chrono::milliseconds t(std::stol(value()));
        auto& o = dest.timeouts;
        o.connect = o.greeting = o.command = o.tls_handshake = o.mail = o.rcpt = o.data_init =
            o.data_block = o.data_end = t;
      } else if (a == "--idle-ms") {
        dest.timeouts.idle = std::chrono::milliseconds(std::stol(value()));
      } else if (a == "--transactions") {
        transactions = std::stoi(value());
      } else if (a == "--wait-ms") {
        wait_ms = std::stol(value());
      } else if (a == "--smtputf8") {
        tx.smtputf8 = true;
      } else {
        return usage("unknown argument " + a);
      }
    } catch (const std::exception& e) {
      return usage(e.what());
    }
  }
  std::ifstream in(message_file, std::ios::binary);
  if (!in) return usage("cannot read --message");
  tx.message = std::make_shared<const std::string>(std::istreambuf_iterator<char>(in),
                                                   std::istreambuf_iterator<char>());

  boost::asio::io_context io;
  auto session = mail::smtp::Session::create(io.get_executor(), dest);
  json reports = json::array();
  json usable_after_wait = nullptr;
  boost::asio::steady_timer wait(io);
  int remaining = transactions;
  std::function<void()> next;
  next = [&]() {
    session->async_deliver(tx, [&](DeliveryReport report) {
      reports.push_back(to_json(report));
      if (--remaining > 0 && session->usable()) return next();
      if (wait_ms == 0) return session->async_quit([] {});
      wait.expires_after(std::chrono::milliseconds(wait_ms));
      wait.async_wait([&](boost::system::error_code) {
        usable_after_wait = session->usable();
        session->async_quit([] {});
      });
    });
  };
  next();
  io.run();
  std::cout << json{{"transactions", reports}, {"usable_after_wait", usable_after_wait}}.dump(2)
            << std::endl;
  return 0;
}
