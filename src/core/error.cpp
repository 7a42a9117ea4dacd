#include "core/error.hpp"

#include <utility>

namespace studio {

Error::Error(int status, std::string code, std::string title, std::string detail, std::vector<FieldError> errors)
    : std::runtime_error(detail),
      status_(status),
      code_(std::move(code)),
      title_(std::move(title)),
      detail_(std::move(detail)),
      errors_(std::move(errors)) {}

BadRequest::BadRequest(std::string detail, std::vector<FieldError> errors, std::string code)
    : Error(400, std::move(code), "Bad Request", std::move(detail), std::move(errors)) {}

ValidationFailed::ValidationFailed(std::string detail, std::vector<FieldError> errors)
    : Error(400, "VALIDATION_FAILED", "Validation Failed", std::move(detail), std::move(errors)) {}

Unauthorized::Unauthorized(std::string detail, std::string code)
    : Error(401, std::move(code), "Unauthorized", std::move(detail)) {}

Forbidden::Forbidden(std::string detail, std::string code)
    : Error(403, std::move(code), "Forbidden", std::move(detail)) {}

NotFound::NotFound(std::string detail, std::string code)
    : Error(404, std::move(code), "Not Found", std::move(detail)) {}

Conflict::Conflict(std::string detail, std::string code) : Error(409, std::move(code), "Conflict", std::move(detail)) {}

PayloadTooLarge::PayloadTooLarge(std::string detail)
    : Error(413, "PAYLOAD_TOO_LARGE", "Payload Too Large", std::move(detail)) {}

UnsupportedMediaType::UnsupportedMediaType(std::string detail)
    : Error(415, "UNSUPPORTED_MEDIA_TYPE", "Unsupported Media Type", std::move(detail)) {}

TooManyRequests::TooManyRequests(std::string detail, int retry_after_seconds)
    : Error(429, "RATE_LIMITED", "Too Many Requests", std::move(detail)) {
  headers().emplace_back("Retry-After", std::to_string(retry_after_seconds));
}

ServiceUnavailable::ServiceUnavailable(std::string detail, int retry_after_seconds, std::string code)
    : Error(503, std::move(code), "Service Unavailable", std::move(detail)) {
  headers().emplace_back("Retry-After", std::to_string(retry_after_seconds));
}

}  // namespace studio
