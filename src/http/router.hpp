#pragma once
// Routes: method + path template ("/api/v1/documents/{id}") → handler. Matching walks a trie of
// path segments (literal segments win over parameters), so lookup cost does not grow with the
// number of routes.

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/request.hpp"

namespace studio::http {

class SseStream;

using Handler = std::function<Response(Request&)>;
/// Runs on a thread of its own (see sse.hpp); sends events through the stream until done or
/// cancelled, or answers once with SseStream::Respond.
using SseHandler = std::function<void(Request&, SseStream&)>;

enum class Execution {
  kInline,    // cheap, never blocks: runs on the io thread
  kBlocking,  // touches the database, disk or CPU-heavy code: runs on the bounded blocking pool
};

struct RouteOptions {
  Execution execution = Execution::kBlocking;
  std::size_t body_limit = 0;  // bytes; 0 = the server's default
  bool json_body = true;       // a request body must be application/json (else 415)
  /// File uploads: a multipart/form-data body (with a boundary) is streamed to a temp file in
  /// ServerOptions::upload_dir under upload_limit instead of into memory, and the handler gets
  /// Request::body_file / body_file_size. An application/json body is still accepted (read into
  /// Request::body under body_limit, as usual); any other type → 415. Takes precedence over json_body.
  bool upload_to_file = false;
  std::size_t upload_limit = 0;  // bytes; 0 = ServerOptions::upload_limit
};

struct Route {
  std::string method;
  std::string pattern;
  Handler handler;  // exactly one of handler / sse is set
  SseHandler sse;
  RouteOptions options;
};

struct RouteMatch {
  enum class Kind { kFound, kMethodNotAllowed, kNotFound };
  Kind kind = Kind::kNotFound;
  const Route* route = nullptr;
  std::vector<std::pair<std::string, std::string>> params;
  std::string allow;  // for kMethodNotAllowed: "GET, HEAD, POST"
};

class Router {
 public:
  Router();
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  /// Registers a route; throws std::logic_error on a malformed pattern or a duplicate method+pattern.
  void Add(std::string method, std::string pattern, Handler handler, RouteOptions options = {});
  /// An event stream. The body options (body_limit, json_body) apply as on any route, so a POST
  /// stream reads its JSON body before the handler starts; `execution` is ignored (the handler always
  /// gets a thread of its own) and upload_to_file is refused (std::logic_error).
  void AddSse(std::string method, std::string pattern, SseHandler handler, RouteOptions options = {});

  /// Matches a raw (still percent-encoded) path. HEAD falls back to GET.
  RouteMatch Find(std::string_view method, std::string_view raw_path) const;

  const std::vector<std::unique_ptr<Route>>& routes() const { return routes_; }

 private:
  struct Node {
    std::map<std::string, std::unique_ptr<Node>, std::less<>> literals;
    std::unique_ptr<Node> param;
    std::string param_name;
    std::map<std::string, const Route*, std::less<>> methods;
  };
  void Insert(std::unique_ptr<Route> route);

  Node root_;
  std::vector<std::unique_ptr<Route>> routes_;
};

/// Percent-decodes one path segment or query component. Returns false on a malformed escape.
bool PercentDecode(std::string_view in, std::string& out, bool plus_is_space);

}  // namespace studio::http
