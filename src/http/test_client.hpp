#pragma once
// A small blocking HTTP client over a real socket, for the server's tests.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/request.hpp"

namespace studio::http::testing {

struct ClientResponse {
  int status = 0;
  Headers headers;
  std::string body;
  bool closed = false;  // the server closed the connection after this response
  std::optional<std::string_view> Header(std::string_view name) const { return FindHeader(headers, name); }
};

/// A persistent connection to 127.0.0.1:port.
class TestConnection {
 public:
  explicit TestConnection(std::uint16_t port);
  ~TestConnection();
  TestConnection(const TestConnection&) = delete;
  TestConnection& operator=(const TestConnection&) = delete;

  void SendRaw(std::string_view bytes);
  /// Reads one HTTP response (throws on timeout or protocol error).
  ClientResponse ReadResponse(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  ClientResponse Request(std::string_view method, std::string_view target, std::string_view body = {},
                         const Headers& headers = {});
  /// Reads raw bytes until the peer closes or the timeout passes. `closed` reports which.
  std::string ReadUntilClose(std::chrono::milliseconds timeout, bool& closed);
  /// Reads until `needle` appears in the accumulated raw bytes (or timeout). Returns all bytes read.
  std::string ReadUntil(std::string_view needle, std::chrono::milliseconds timeout);
  void Close();

 private:
  struct Impl;
  Impl* impl_;
};

ClientResponse Fetch(std::uint16_t port, std::string_view method, std::string_view target, std::string_view body = {},
                     const Headers& headers = {});

}  // namespace studio::http::testing
