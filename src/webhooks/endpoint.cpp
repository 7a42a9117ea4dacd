#include "webhooks/endpoint.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <memory>

#include "auth/secrets.hpp"
#include "core/json.hpp"

namespace studio::webhooks {
namespace {

using UrlHandle = std::unique_ptr<CURLU, decltype(&curl_url_cleanup)>;

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
           return a == (b >= 'A' && b <= 'Z' ? static_cast<char>(b - 'A' + 'a') : b);
         });
}

// A URL part as libcurl sees it; nullopt when the URL has no such part.
std::optional<std::string> Part(CURLU* url, CURLUPart which) {
  char* value = nullptr;
  if (curl_url_get(url, which, &value, 0) != CURLUE_OK || value == nullptr) return std::nullopt;
  std::string out(value);
  curl_free(value);
  return out;
}

}  // namespace

bool IsKnownEventType(std::string_view type) {
  return std::find(kEventTypes.begin(), kEventTypes.end(), type) != kEventTypes.end();
}

bool Subscribes(std::string_view events_json, std::string_view type) {
  const Json events = Json::parse(events_json, nullptr, false);
  if (!events.is_array()) return false;
  return std::any_of(events.begin(), events.end(), [&](const Json& e) { return e.is_string() && e == type; });
}

std::optional<std::string> UrlProblem(std::string_view url) {
  if (url.empty()) return "is required";
  if (url.size() > kMaxUrlBytes) return "must be at most " + std::to_string(kMaxUrlBytes) + " bytes";
  for (unsigned char c : url) {
    if (c <= 0x20 || c >= 0x7f) return "must be printable ASCII without spaces (percent-encode the rest)";
  }
  const bool https = StartsWithNoCase(url, "https://");
  if (!https && !StartsWithNoCase(url, "http://")) return "must be an http:// or https:// URL";
  // The authority ends at the first '/', '?' or '#'; any '@' in it introduces credentials.
  const std::string_view rest = url.substr(https ? 8 : 7);
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string_view::npos) return "must not contain credentials (user:password@)";
  // libcurl would read "https:///x" as the host "x": refuse what it would have to guess.
  if (authority.empty()) return "must name a host";
  UrlHandle parsed(curl_url(), &curl_url_cleanup);
  if (!parsed) return "cannot be parsed";
  const std::string text(url);
  if (curl_url_set(parsed.get(), CURLUPART_URL, text.c_str(), 0) != CURLUE_OK) return "is not a valid URL";
  const std::optional<std::string> host = Part(parsed.get(), CURLUPART_HOST);
  if (!host || host->empty()) return "must name a host";
  if (Part(parsed.get(), CURLUPART_USER) || Part(parsed.get(), CURLUPART_PASSWORD)) {
    return "must not contain credentials (user:password@)";
  }
  return std::nullopt;
}

std::string UrlOrigin(std::string_view url) {
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return "(invalid url)";
  const std::size_t authority_end = url.find_first_of("/?#", scheme_end + 3);
  return std::string(url.substr(0, authority_end));
}

std::string NewSecret() { return "whsec_" + auth::NewRefreshToken(); }

}  // namespace studio::webhooks
