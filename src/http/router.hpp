#pragma once
// Maps method + path to a handler. `http` knows nothing about forms: app registers the
// handlers (DESIGN.md). Patterns are literal segments and `{name}` parameters.

#include <boost/beast/http.hpp>
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace http {

namespace bhttp = boost::beast::http;

using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;
using Params = std::map<std::string, std::string, std::less<>>;

struct RequestContext {
  std::string remote_address;  // the peer's IP address, as text
  std::string request_id;      // shown on error pages, logged; no meaning of its own
  Params params;               // route parameters, raw (a segment never contains '/')
};

// Answers a request exactly once; thread-safe (the answer is posted to the connection's
// strand). Dropping a Responder without answering closes the connection.
class Responder {
 public:
  explicit Responder(std::function<void(Response)> send) : send_(std::move(send)) {}
  void send(Response response) const { send_(std::move(response)); }

 private:
  std::function<void(Response)> send_;
};

using Handler = std::function<void(Request&&, RequestContext&&, Responder)>;
// Body limit for a matched route, decided after the headers and before the body is read.
using BodyLimit = std::function<std::size_t(const Params&)>;

struct Route {
  bhttp::verb method;
  std::vector<std::string> segments;  // "{name}" marks a parameter
  Handler handler;
  BodyLimit body_limit;  // empty: the server's default
};

class Router {
 public:
  void add(bhttp::verb method, std::string_view pattern, Handler handler,
           BodyLimit body_limit = {});
  // Replaces every handler added so far by wrap(handler): app puts checks that apply to
  // every route (the block list) in front of them all.
  void wrap_handlers(const std::function<Handler(Handler)>& wrap);

  struct Match {
    const Route* route = nullptr;
    Params params;
    bool path_known = false;  // some route has this path, with another method (405)
  };
  // `target` may carry a query string; it is ignored for matching.
  Match match(bhttp::verb method, std::string_view target) const;

 private:
  std::vector<Route> routes_;
};

}  // namespace http
