#pragma once
// RFC 9457 problem responses. Every error the API returns is rendered here and nowhere else.

#include <exception>
#include <string_view>

#include "core/error.hpp"
#include "http/request.hpp"

namespace studio::http {

/// {type,title,status,detail,code,requestId,errors?} as application/problem+json.
Response ProblemResponse(const Error& error, std::string_view request_id);

/// Maps any exception to a problem. Typed studio::Error keeps its status and message; anything else
/// becomes a 500 that says only that something failed and which request id to quote.
Response ProblemFromException(const std::exception_ptr& error, std::string_view request_id);

}  // namespace studio::http
