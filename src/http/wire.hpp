#pragma once
// Serialises a response head and body into one buffer for a single socket write.
//
// Why not Beast's serializer: it walks a chain of buffer views per header field, which cost
// ~12% of a small request's CPU in profiles of GET /status/live; writing our own known set of
// headers into one string is simpler and measurably faster. Parsing stays with Beast.

#include <string>
#include <string_view>

#include "http/request.hpp"

namespace studio::http {

/// The reason phrase for a status code ("Not Found"); "Unknown" for codes without one.
std::string_view ReasonPhrase(int status);

/// Appends "HTTP/1.1 <status> <reason>", the headers, Content-Length (unless the status forbids
/// a body), "Connection: close" when !keep_alive, and the body (not for HEAD). Header fields whose
/// name or value contains CR, LF or NUL are dropped (they would split the response); returns
/// false when that happened so the caller can report the bug.
bool SerializeResponse(std::string& out, int status, const Headers& headers, std::string_view body, bool head_request,
                       bool keep_alive);

}  // namespace studio::http
