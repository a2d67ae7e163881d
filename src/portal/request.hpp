#pragma once
// What the portal needs of a request and what it answers, with no HTTP types in them: app/
// fills a Request from the wire and turns a Reply into a response (docs/ARCHITECTURE.md).
// Trust: every field of a Request comes from the client, except remote_address and
// request_id, which the server sets.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace portal {

enum class Method { get, post };

using Params = std::map<std::string, std::string, std::less<>>;

struct Request {
  Method method = Method::get;
  std::string target;  // path and query string, as sent
  // The body, which may hold a password or a key: the caller owns it and wipes it after.
  std::string_view body;
  std::string cookie;        // the Cookie header
  std::string origin;        // the Origin header
  std::string content_type;  // the Content-Type header
  std::string csrf_token;    // the X-CSRF-Token header
  std::string remote_address;
  std::string request_id;
  Params params;  // route parameters, raw
};

// The outcome of a portal request, independent of the protocol that carries it.
enum class Status {
  ok,                      // body is the answer
  no_content,              // done, nothing to say
  bad_request,             // the request is malformed
  unauthenticated,         // no live session (or wrong credentials at sign-in)
  forbidden,               // origin, CSRF token or role refused
  not_found,               // no such object
  conflict,                // not possible in the current state
  unsupported_media_type,  // the body is not JSON
  unprocessable,           // well-formed, but the values are refused
  too_many_attempts,       // throttled: retry_after says when to try again
  gone,                    // existed, no longer available (an expired or revoked message)
  failed,                  // our side failed: `failure` says how
};

struct Reply {
  Status status = Status::ok;
  core::ErrorKind failure = core::ErrorKind::internal;  // only for Status::failed
  std::string body;
  std::string content_type = "application/json";
  std::optional<std::string> set_cookie;  // a Set-Cookie value
  std::optional<std::chrono::seconds> retry_after;
};

// {"error": message}.
Reply error_reply(Status status, std::string_view message);
// 429-style refusal: wait this long before trying again.
Reply delayed(std::chrono::seconds wait);

}  // namespace portal
