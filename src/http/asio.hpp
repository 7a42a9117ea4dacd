#pragma once
// The one way this project includes Asio/Beast. Boost 1.74's asio/awaitable.hpp uses
// std::exchange without including <utility>, so it must come first.
#include <utility>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace studio::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
}  // namespace studio::http
