#include "api/v1/paging.hpp"

#include <charconv>
#include <string_view>

#include "auth/secrets.hpp"
#include "core/error.hpp"

namespace studio::api::v1 {

void BadQuery(const char* field, const std::string& detail) {
  throw BadRequest(detail, {{field, "is not valid"}}, "INVALID_QUERY");
}

int IntQuery(const http::Request& req, const char* name, int fallback, int max) {
  auto text = req.Query(name);
  if (!text) return fallback;
  int n = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
  if (ec != std::errc() || end != text->data() + text->size() || n < 0 || n > max) {
    BadQuery(name, "'" + std::string(name) + "' must be an integer from 0 to " + std::to_string(max) + ".");
  }
  return n;
}

int LimitOf(const http::Request& req, int fallback, int max) {
  int n = IntQuery(req, "limit", fallback, max);
  if (n < 1) BadQuery("limit", "'limit' must be an integer from 1 to " + std::to_string(max) + ".");
  return n;
}

std::string EncodeTimeCursor(std::int64_t ms, const std::string& id) {
  return auth::Base64UrlEncode(std::to_string(ms) + ":" + id);
}

std::optional<TimeCursor> TimeCursorOf(const http::Request& req) {
  auto text = req.Query("cursor");
  if (!text) return std::nullopt;
  std::optional<std::string> decoded;
  if (text->size() <= 200) decoded = auth::Base64UrlDecode(*text);
  std::string_view plain = decoded ? std::string_view(*decoded) : std::string_view();
  auto colon = plain.find(':');
  if (colon != std::string_view::npos && colon + 1 < plain.size()) {
    std::int64_t ms = -1;
    auto [end, ec] = std::from_chars(plain.data(), plain.data() + colon, ms);
    if (ec == std::errc() && end == plain.data() + colon && ms >= 0) {
      return TimeCursor{ms, std::string(plain.substr(colon + 1))};
    }
  }
  BadQuery("cursor", "'cursor' is not valid; pass the nextCursor of the previous page.");
}

}  // namespace studio::api::v1
