#pragma once
// multipart/form-data bodies (RFC 7578 over RFC 2046), as upload routes receive them: the server
// streams the body to a temp file (Request::body_file) and the handler parses that file here.
//
// Parsing never copies a file part: it maps the body file and returns, for every part, the byte
// range [offset, offset + length) it occupies; only small text fields are copied (Part::value).
// The helpers below then read, hash or copy a part's range in bounded chunks.
//
// Every malformation (missing or invalid boundary, no closing boundary, headers too long, too many
// parts, a text field too large, …) throws studio::BadRequest with code "MALFORMED_MULTIPART".

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace studio::http::multipart {

struct Limits {
  std::size_t max_parts = 20;
  std::size_t max_header_bytes = std::size_t{8} * 1024;  // one part's header block
  std::size_t max_value_bytes = std::size_t{64} * 1024;  // one text field (a part without filename)
};

struct Part {
  std::string name;  // the form field name (Content-Disposition name=)
  /// The file name the client sent (filename=, or a UTF-8/ISO-8859-1 filename* when given), with
  /// control characters removed, invalid UTF-8 replaced by U+FFFD and capped at 255 bytes.
  /// FOR DISPLAY ONLY: never build a filesystem path from it. Present (possibly empty — browsers
  /// send filename="" when no file was chosen) exactly when the part is a file.
  std::optional<std::string> filename;
  std::string content_type;  // the part's Content-Type as sent (trimmed); empty when absent
  std::string value;         // text fields only: the field's bytes. Empty for file parts.
  std::uint64_t offset = 0;  // every part: its content is [offset, offset + length) of the body
  std::uint64_t length = 0;

  bool is_file() const { return filename.has_value(); }
};

/// True when the media type of a Content-Type value is multipart/form-data (parameters ignored).
bool IsMultipartFormData(std::string_view content_type);

/// The boundary parameter of a multipart Content-Type value (unquoted). Throws BadRequest
/// (MALFORMED_MULTIPART) when it is missing, given twice, empty, longer than 70 characters or
/// contains characters outside printable ASCII.
std::string BoundaryFromContentType(std::string_view content_type);

/// Parses a whole multipart/form-data body held in memory. Part offsets are relative to `body`.
std::vector<Part> Parse(std::string_view body, std::string_view boundary, const Limits& limits = {});

/// Parses a body stored in a file (memory-mapped, so a large file part is never copied).
/// Throws BadRequest for a malformed body, std::system_error when the file cannot be read.
std::vector<Part> ParseFile(const std::string& path, std::string_view boundary, const Limits& limits = {});

/// The first part with this field name, or nullptr. Whether a repeated field is an error is the
/// route's decision; count with std::count_if when it matters.
const Part* FindPart(const std::vector<Part>& parts, std::string_view name);

/// Calls `sink` with the part's bytes from `body_path`, in order, in pieces of at most
/// `chunk_size` bytes. Throws std::system_error on a read error or a truncated file; exceptions
/// from `sink` propagate.
void ReadPart(const std::string& body_path, const Part& part, const std::function<void(std::string_view)>& sink,
              std::size_t chunk_size = std::size_t{256} * 1024);

/// The first min(max_bytes, part.length) bytes of a part — e.g. for content sniffing.
std::string ReadPartHead(const std::string& body_path, const Part& part, std::size_t max_bytes);

/// SHA-256 of a part's bytes, lowercase hex (64 characters).
std::string Sha256OfPart(const std::string& body_path, const Part& part);

struct CopyResult {
  std::uint64_t bytes = 0;
  std::string sha256;  // lowercase hex of the copied bytes
};

/// Copies a part into a new file `dest_path` (created with O_EXCL, mode 0600, fsync'd before
/// returning) and hashes it on the way. On any failure the partial destination file is removed
/// and std::system_error is thrown; an existing dest_path is an error (EEXIST), never overwritten.
CopyResult CopyPartToFile(const std::string& body_path, const Part& part, const std::string& dest_path);

}  // namespace studio::http::multipart
