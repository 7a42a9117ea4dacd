#include "http/wire.hpp"

#include <boost/beast/http/status.hpp>

#include <charconv>

namespace studio::http {
namespace {

// A plain loop: string_view::find_first_of calls memchr on the set once per character.
bool Clean(std::string_view s) {
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

void AppendNumber(std::string& out, std::size_t n) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, end);
}

}  // namespace

std::string_view ReasonPhrase(int status) {
  auto reason = boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(status));
  return reason.empty() ? std::string_view("Unknown") : std::string_view(reason.data(), reason.size());
}

bool SerializeResponse(std::string& out, int status, const Headers& headers, std::string_view body, bool head_request,
                       bool keep_alive) {
  bool clean = true;
  std::size_t size = 64 + body.size();
  for (const auto& [k, v] : headers) size += k.size() + v.size() + 4;
  out.reserve(out.size() + size);
  out += "HTTP/1.1 ";
  AppendNumber(out, static_cast<std::size_t>(status));
  out += ' ';
  out += ReasonPhrase(status);
  out += "\r\n";
  for (const auto& [k, v] : headers) {
    if (k.empty() || !Clean(k) || !Clean(v)) {
      clean = false;
      continue;
    }
    out += k;
    out += ": ";
    out += v;
    out += "\r\n";
  }
  // RFC 9110 §8.6: no Content-Length on 1xx and 204; a 304 keeps whatever the 200 would have had,
  // and we never send 304 bodies, so it gets none either.
  bool bodiless_status = (status >= 100 && status < 200) || status == 204 || status == 304;
  if (!bodiless_status) {
    out += "Content-Length: ";
    AppendNumber(out, body.size());
    out += "\r\n";
  }
  if (!keep_alive) out += "Connection: close\r\n";
  out += "\r\n";
  if (!head_request && !bodiless_status) out += body;
  return clean;
}

}  // namespace studio::http
