#pragma once
// Query-string paging shared by the list routes: ?limit= and an opaque ?cursor= that encodes the
// (time, id) of the last item shown. Both answer 400 INVALID_QUERY when malformed.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "http/request.hpp"

namespace studio::api::v1 {

using TimeCursor = std::pair<std::int64_t, std::string>;

[[noreturn]] void BadQuery(const char* field, const std::string& detail);

/// ?limit=, an integer from 1 to `max`; `fallback` when absent.
int LimitOf(const http::Request& req, int fallback, int max);
/// ?<name>=, a non-negative integer up to `max`; `fallback` when absent.
int IntQuery(const http::Request& req, const char* name, int fallback, int max);

/// The opaque cursor: base64url of "<ms>:<id>".
std::string EncodeTimeCursor(std::int64_t ms, const std::string& id);
/// ?cursor= decoded; nullopt when absent.
std::optional<TimeCursor> TimeCursorOf(const http::Request& req);

}  // namespace studio::api::v1
