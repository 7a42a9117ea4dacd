#pragma once
// Typed errors. Services and stores throw these; the HTTP layer turns them into an RFC 9457
// problem response in exactly one place (http/problem.cpp). Messages must be safe to show a client.

#include <stdexcept>
#include <string>
#include <vector>

namespace studio {

struct FieldError {
  std::string field;
  std::string message;
};

class Error : public std::runtime_error {
 public:
  Error(int status, std::string code, std::string title, std::string detail, std::vector<FieldError> errors = {});

  int status() const { return status_; }
  const std::string& code() const { return code_; }
  const std::string& title() const { return title_; }
  const std::string& detail() const { return detail_; }
  const std::vector<FieldError>& errors() const { return errors_; }
  /// Extra response headers (e.g. Allow, Retry-After).
  std::vector<std::pair<std::string, std::string>>& headers() { return headers_; }
  const std::vector<std::pair<std::string, std::string>>& headers() const { return headers_; }

 private:
  int status_;
  std::string code_;
  std::string title_;
  std::string detail_;
  std::vector<FieldError> errors_;
  std::vector<std::pair<std::string, std::string>> headers_;
};

class BadRequest : public Error {
 public:
  explicit BadRequest(std::string detail, std::vector<FieldError> errors = {}, std::string code = "BAD_REQUEST");
};
class ValidationFailed : public Error {
 public:
  ValidationFailed(std::string detail, std::vector<FieldError> errors);
};
class Unauthorized : public Error {
 public:
  explicit Unauthorized(std::string detail = "Authentication is required.", std::string code = "UNAUTHORIZED");
};
class Forbidden : public Error {
 public:
  explicit Forbidden(std::string detail, std::string code = "FORBIDDEN");
};
class NotFound : public Error {
 public:
  explicit NotFound(std::string detail = "The requested resource does not exist.", std::string code = "NOT_FOUND");
};
class Conflict : public Error {
 public:
  explicit Conflict(std::string detail, std::string code = "CONFLICT");
};
class PayloadTooLarge : public Error {
 public:
  explicit PayloadTooLarge(std::string detail);
};
class UnsupportedMediaType : public Error {
 public:
  explicit UnsupportedMediaType(std::string detail);
};
class TooManyRequests : public Error {
 public:
  TooManyRequests(std::string detail, int retry_after_seconds);
};
class ServiceUnavailable : public Error {
 public:
  ServiceUnavailable(std::string detail, int retry_after_seconds = 1, std::string code = "SERVICE_UNAVAILABLE");
};

}  // namespace studio
