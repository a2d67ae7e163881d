// Trust: untrusted network input (request targets).
#include "http/router.hpp"

namespace http {
namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.empty() || path.front() != '/') return out;
  path.remove_prefix(1);
  while (true) {
    auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

bool is_param(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

}  // namespace

void Router::add(bhttp::verb method, std::string_view pattern, Handler handler,
                 BodyLimit body_limit) {
  Route route{method, {}, std::move(handler), std::move(body_limit)};
  for (auto s : split_path(pattern)) route.segments.emplace_back(s);
  routes_.push_back(std::move(route));
}

void Router::wrap_handlers(const std::function<Handler(Handler)>& wrap) {
  for (auto& route : routes_) route.handler = wrap(std::move(route.handler));
}

Router::Match Router::match(bhttp::verb method, std::string_view target) const {
  Match result;
  auto path = target.substr(0, target.find_first_of("?#"));
  auto parts = split_path(path);
  if (parts.empty()) return result;
  for (const auto& route : routes_) {
    if (route.segments.size() != parts.size()) continue;
    Params params;
    bool ok = true;
    for (std::size_t i = 0; i < parts.size() && ok; ++i) {
      const auto& seg = route.segments[i];
      if (is_param(seg)) {
        if (parts[i].empty())
          ok = false;
        else
          params.emplace(seg.substr(1, seg.size() - 2), std::string(parts[i]));
      } else {
        ok = seg == parts[i];
      }
    }
    if (!ok) continue;
    if (route.method != method) {
      result.path_known = true;
      continue;
    }
    result.route = &route;
    result.params = std::move(params);
    return result;
  }
  return result;
}

}  // namespace http
