#include "http/test_client.hpp"

#include <stdexcept>

#include "http/asio.hpp"

namespace studio::http::testing {

struct TestConnection::Impl {
  asio::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
};

TestConnection::TestConnection(std::uint16_t port) : impl_(new Impl) {
  try {
    impl_->stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  } catch (...) {
    delete impl_;  // the destructor does not run when the constructor throws
    throw;
  }
}

TestConnection::~TestConnection() {
  Close();
  delete impl_;
}

void TestConnection::Close() {
  beast::error_code ec;
  impl_->stream.socket().close(ec);
}

void TestConnection::SendRaw(std::string_view bytes) {
  asio::write(impl_->stream.socket(), asio::buffer(bytes.data(), bytes.size()));
}

ClientResponse TestConnection::ReadResponse(std::chrono::milliseconds timeout) {
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(std::uint64_t{64} * 1024 * 1024);
  beast::error_code ec;
  impl_->stream.expires_after(timeout);
  bhttp::async_read(impl_->stream, impl_->buffer, parser, [&ec](beast::error_code e, std::size_t) { ec = e; });
  impl_->ioc.restart();
  impl_->ioc.run();
  if (ec) throw std::runtime_error("reading response: " + ec.message());
  ClientResponse out;
  auto& msg = parser.get();
  out.status = static_cast<int>(msg.result_int());
  for (const auto& f : msg) out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  out.body = msg.body();
  out.closed = !msg.keep_alive();
  return out;
}

ClientResponse TestConnection::Request(std::string_view method, std::string_view target, std::string_view body,
                                       const Headers& headers) {
  std::string raw = std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  bool has_ct = false;
  for (const auto& [k, v] : headers) {
    raw.append(k).append(": ").append(v).append("\r\n");
    if (IEquals(k, "Content-Type")) has_ct = true;
  }
  if (!body.empty() && !has_ct) raw += "Content-Type: application/json\r\n";
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    raw += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  raw += "\r\n";
  raw += body;
  SendRaw(raw);
  return ReadResponse();
}

namespace {

// Appends whatever arrives within `timeout` (one read) to `out`.
beast::error_code ReadSome(asio::io_context& ioc, beast::tcp_stream& stream, std::chrono::milliseconds timeout,
                           std::string& out) {
  char buf[4096];
  beast::error_code ec;
  std::size_t n = 0;
  stream.expires_after(timeout);
  stream.async_read_some(asio::buffer(buf), [&](beast::error_code e, std::size_t k) {
    ec = e;
    n = k;
  });
  ioc.restart();
  ioc.run();
  out.append(buf, n);
  return ec;
}

std::chrono::milliseconds Left(std::chrono::steady_clock::time_point deadline) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
}

}  // namespace

std::string TestConnection::ReadUntilClose(std::chrono::milliseconds timeout, bool& closed) {
  std::string out(static_cast<const char*>(impl_->buffer.data().data()), impl_->buffer.size());
  impl_->buffer.consume(impl_->buffer.size());
  closed = false;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (Left(deadline).count() > 0) {
    auto ec = ReadSome(impl_->ioc, impl_->stream, Left(deadline), out);
    if (ec == beast::error::timeout) break;
    if (ec) {
      closed = true;
      break;
    }
  }
  return out;
}

std::string TestConnection::ReadUntil(std::string_view needle, std::chrono::milliseconds timeout) {
  std::string out(static_cast<const char*>(impl_->buffer.data().data()), impl_->buffer.size());
  impl_->buffer.consume(impl_->buffer.size());
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out.find(needle) == std::string::npos && Left(deadline).count() > 0) {
    if (ReadSome(impl_->ioc, impl_->stream, Left(deadline), out)) break;
  }
  return out;
}

ClientResponse Fetch(std::uint16_t port, std::string_view method, std::string_view target, std::string_view body,
                     const Headers& headers) {
  TestConnection c(port);
  return c.Request(method, target, body, headers);
}

}  // namespace studio::http::testing
