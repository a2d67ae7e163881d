// The server's own 500 path, end to end over real TLS: a handler that throws gets a 500
// page carrying every security header, with the request id and none of the exception text.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "app/self_signed.hpp"
#include "core/rng.hpp"
#include "http/server.hpp"
#include "http/tls_context.hpp"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

std::filesystem::path write_temp(const std::filesystem::path& dir, const char* name,
                                 std::string_view text) {
  auto path = dir / name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

TEST(ServerErrors, AThrowingHandlerGetsA500WithHeadersAndNoDetail) {
  char tmpl[] = "/tmp/sealpost-app-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::filesystem::path dir(tmpl);
  auto cert = app::make_self_signed("localhost");
  ASSERT_TRUE(cert.has_value());
  auto cert_file = write_temp(dir, "cert.pem", cert->certificate_pem);
  auto key_file = write_temp(dir, "key.pem", cert->private_key_pem.as_string_view());
  auto tls = http::make_server_tls_context(cert_file, key_file, {});
  ASSERT_TRUE(tls.has_value()) << tls.error().detail();

  http::Router router;
  router.add(bhttp::verb::get, "/boom",
             [](http::Request&&, http::RequestContext&&, http::Responder) -> void {
               throw std::runtime_error("secret detail from a bug");
             });
  net::io_context io;
  http::ServerOptions options;
  options.https_listen = "127.0.0.1:0";
  options.http_listen = "";
  core::FakeRng rng;
  http::Server server(
      io, *tls, router, options,
      [](unsigned status, std::string_view id) {
        http::Response r{static_cast<bhttp::status>(status), 11};
        r.set(bhttp::field::content_type, "text/plain; charset=utf-8");
        r.body() = "error " + std::to_string(status) + " request " + std::string(id);
        return r;
      },
      rng);
  ASSERT_TRUE(server.start().has_value());
  std::thread loop([&io] { io.run(); });

  net::io_context client_io;
  net::ssl::context client_tls(net::ssl::context::tls_client);
  client_tls.set_verify_mode(net::ssl::verify_peer);
  client_tls.load_verify_file(cert_file.string());  // the server's own self-signed cert
  beast::ssl_stream<beast::tcp_stream> stream(client_io, client_tls);
  net::ip::tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), server.https_port());
  beast::get_lowest_layer(stream).connect(endpoint);
  stream.handshake(net::ssl::stream_base::client);
  bhttp::request<bhttp::empty_body> req{bhttp::verb::get, "/boom", 11};
  req.set(bhttp::field::host, "localhost");
  bhttp::write(stream, req);
  beast::flat_buffer buffer;
  bhttp::response<bhttp::string_body> res;
  bhttp::read(stream, buffer, res);

  EXPECT_EQ(res.result_int(), 500u);
  EXPECT_EQ(res.body().find("secret detail"), std::string::npos);
  EXPECT_NE(res.body().find("request "), std::string::npos);
  EXPECT_EQ(res["Strict-Transport-Security"], "max-age=63072000; includeSubDomains");
  EXPECT_NE(res["Content-Security-Policy"].find("default-src 'none'"), std::string::npos);
  EXPECT_EQ(res["X-Content-Type-Options"], "nosniff");
  EXPECT_EQ(res["Referrer-Policy"], "no-referrer");
  EXPECT_EQ(res["Cache-Control"], "no-store");
  EXPECT_EQ(res["X-Frame-Options"], "DENY");

  beast::error_code ignored;
  beast::get_lowest_layer(stream).socket().close(ignored);
  server.drain();
  loop.join();
  std::filesystem::remove_all(dir);
}

}  // namespace
