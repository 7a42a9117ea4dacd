#include "http/router.hpp"

#include <stdexcept>

namespace studio::http {
namespace {

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    std::size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(path.substr(i, j - i));
    i = j;
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool PercentDecode(std::string_view in, std::string& out, bool plus_is_space) {
  out.clear();
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = HexValue(in[i + 1]);
      int lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return true;
}

Router::Router() = default;
Router::~Router() = default;

void Router::Add(std::string method, std::string pattern, Handler handler, RouteOptions options) {
  auto route = std::make_unique<Route>();
  route->method = std::move(method);
  route->pattern = std::move(pattern);
  route->handler = std::move(handler);
  // An upload handler reads a file of up to upload_limit bytes: that must not stall an io thread.
  if (options.upload_to_file && options.execution == Execution::kInline) {
    throw std::logic_error("an upload route must run on the blocking pool: " + route->pattern);
  }
  route->options = options;
  Insert(std::move(route));
}

void Router::AddSse(std::string method, std::string pattern, SseHandler handler, RouteOptions options) {
  auto route = std::make_unique<Route>();
  route->method = std::move(method);
  route->pattern = std::move(pattern);
  route->sse = std::move(handler);
  if (options.upload_to_file) throw std::logic_error("an event stream cannot take uploads: " + route->pattern);
  route->options = options;  // body_limit and json_body are enforced by the server as for any route
  Insert(std::move(route));
}

void Router::Insert(std::unique_ptr<Route> route) {
  if (route->pattern.empty() || route->pattern[0] != '/') {
    throw std::logic_error("route pattern must start with '/': " + route->pattern);
  }
  Node* node = &root_;
  for (std::string_view seg : SplitPath(route->pattern)) {
    if (seg.size() >= 2 && seg.front() == '{' && seg.back() == '}') {
      std::string name(seg.substr(1, seg.size() - 2));
      if (!node->param) {
        node->param = std::make_unique<Node>();
        node->param_name = name;
      } else if (node->param_name != name) {
        throw std::logic_error("conflicting parameter names at " + route->pattern);
      }
      node = node->param.get();
    } else {
      if (seg.find_first_of("{}") != std::string_view::npos) {
        throw std::logic_error("malformed route segment in " + route->pattern);
      }
      auto it = node->literals.find(seg);
      if (it == node->literals.end()) {
        it = node->literals.emplace(std::string(seg), std::make_unique<Node>()).first;
      }
      node = it->second.get();
    }
  }
  if (!node->methods.emplace(route->method, route.get()).second) {
    throw std::logic_error("duplicate route " + route->method + " " + route->pattern);
  }
  routes_.push_back(std::move(route));
}

RouteMatch Router::Find(std::string_view method, std::string_view raw_path) const {
  RouteMatch match;
  const Node* node = &root_;
  std::string decoded;
  for (std::string_view seg : SplitPath(raw_path)) {
    auto it = node->literals.find(seg);
    if (it != node->literals.end()) {
      node = it->second.get();
      continue;
    }
    if (!node->param || !PercentDecode(seg, decoded, false)) return match;
    match.params.emplace_back(node->param_name, decoded);
    node = node->param.get();
  }
  if (node->methods.empty()) return match;
  auto it = node->methods.find(method);
  if (it == node->methods.end() && method == "HEAD") it = node->methods.find(std::string_view("GET"));
  if (it != node->methods.end()) {
    match.kind = RouteMatch::Kind::kFound;
    match.route = it->second;
    return match;
  }
  match.kind = RouteMatch::Kind::kMethodNotAllowed;
  match.params.clear();
  for (const auto& [m, r] : node->methods) {
    if (!match.allow.empty()) match.allow += ", ";
    match.allow += m;
    if (m == "GET" && node->methods.find(std::string_view("HEAD")) == node->methods.end()) match.allow += ", HEAD";
  }
  return match;
}

}  // namespace studio::http
