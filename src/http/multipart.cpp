#include "http/multipart.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <system_error>

#include "core/error.hpp"
#include "http/request.hpp"
#include "http/router.hpp"

// Hand-written rather than a library: the Debian set has no streaming multipart parser for a
// body already on disk (Beast parses HTTP only; its param_list keeps quoted strings escaped and
// rejects the unquoted non-token filenames real clients send), and the grammar is small.

namespace studio::http::multipart {
namespace {

constexpr std::size_t kMaxBoundary = 70;  // RFC 2046 §5.1.1
constexpr std::size_t kMaxFilenameBytes = 255;
constexpr std::size_t kMaxNameInMessage = 64;
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

[[noreturn]] void Malformed(const std::string& why) {
  throw BadRequest("Malformed multipart body: " + why + ".", {}, "MALFORMED_MULTIPART");
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool IsTSpecial(char c) { return std::string_view("()<>@,;:\\\"/[]?=").find(c) != std::string_view::npos; }

// glibc's memmem runs the two-way algorithm: linear time even for hostile bodies built to make a
// naive or Boyer-Moore-Horspool search quadratic (e.g. a boundary of dashes over a body of dashes).
std::size_t FindFrom(std::string_view hay, std::size_t from, std::string_view needle) {
  if (from > hay.size() || needle.size() > hay.size() - from) return std::string_view::npos;
  const void* p = ::memmem(hay.data() + from, hay.size() - from, needle.data(), needle.size());
  return p ? static_cast<std::size_t>(static_cast<const char*>(p) - hay.data()) : std::string_view::npos;
}

/// Valid UTF-8 without control characters, capped at max_bytes (on a character boundary).
std::string SanitizeDisplayText(std::string_view in, std::size_t max_bytes) {
  static constexpr std::uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};  // rejects overlong forms
  std::string out;
  std::size_t i = 0;
  while (i < in.size()) {
    auto c = static_cast<unsigned char>(in[i]);
    std::size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    std::uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1Fu) : len == 3 ? (c & 0x0Fu) : (c & 0x07u);
    bool ok = len > 0 && i + len <= in.size();
    for (std::size_t k = 1; ok && k < len; ++k) {
      auto cc = static_cast<unsigned char>(in[i + k]);
      ok = (cc & 0xC0) == 0x80;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    ok = ok && cp >= kMinForLength[len] && !(cp >= 0xD800 && cp <= 0xDFFF) && cp <= 0x10FFFF;
    std::string_view piece;
    if (!ok) {
      piece = kReplacement;
      i += 1;
    } else {
      piece = in.substr(i, len);
      i += len;
      // C0/C1 controls and bidi overrides (which can disguise "txt.exe" as "exe.txt") are dropped.
      bool control = cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0);
      bool bidi = (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
      if (control || bidi) continue;
    }
    if (out.size() + piece.size() > max_bytes) break;
    out.append(piece);
  }
  return out;
}

struct HeaderValue {
  std::string_view type;
  std::vector<std::pair<std::string, std::string>> params;  // lowercase name → unquoted value
};

/// A quoted-string starting at v[i] == '"'. Returns the index after the closing quote. As in Go's
/// mime package, a backslash escapes only a tspecial: old browsers sent Windows paths with
/// unescaped backslashes ("C:\dir\a.txt"), which must not lose their separators.
std::size_t ParseQuoted(std::string_view v, std::size_t i, std::string& out) {
  for (++i; i < v.size(); ++i) {
    char c = v[i];
    if (c == '"') return i + 1;
    if (c == '\\' && i + 1 < v.size() && IsTSpecial(v[i + 1])) {
      out.push_back(v[++i]);
      continue;
    }
    out.push_back(c);
  }
  Malformed("a quoted header parameter is not terminated");
}

/// `type; a=b; c="d"` (RFC 2045 §5.1 parameters). Unquoted values are taken up to the next ';'.
HeaderValue ParseHeaderValue(std::string_view v) {
  HeaderValue out;
  std::size_t i = std::min(v.find(';'), v.size());
  out.type = TrimOws(v.substr(0, i));
  while (i < v.size()) {  // v[i] == ';'
    ++i;
    while (i < v.size() && (v[i] == ' ' || v[i] == '\t')) ++i;
    if (i == v.size()) break;   // trailing ';'
    if (v[i] == ';') continue;  // empty parameter
    std::size_t start = i;
    while (i < v.size() && v[i] != '=' && v[i] != ';') ++i;
    std::string name = Lower(TrimOws(v.substr(start, i - start)));
    if (name.empty()) Malformed("a header parameter has no name");
    std::string value;
    if (i < v.size() && v[i] == '=') {
      ++i;
      while (i < v.size() && (v[i] == ' ' || v[i] == '\t')) ++i;
      if (i < v.size() && v[i] == '"') {
        i = ParseQuoted(v, i, value);
        while (i < v.size() && (v[i] == ' ' || v[i] == '\t')) ++i;
        if (i < v.size() && v[i] != ';') Malformed("unexpected characters after a quoted header parameter");
      } else {
        std::size_t vstart = i;
        while (i < v.size() && v[i] != ';') ++i;
        value = std::string(TrimOws(v.substr(vstart, i - vstart)));
      }
    }
    out.params.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

void ValidateBoundary(std::string_view b) {
  bool printable = std::all_of(b.begin(), b.end(), [](char c) { return c >= 0x20 && c <= 0x7E; });
  if (b.empty() || b.size() > kMaxBoundary || !printable || b.back() == ' ') {
    Malformed("the boundary must be 1 to 70 printable ASCII characters");
  }
}

/// An RFC 8187 ext-value (charset'lang'pct-encoded). UTF-8 and ISO-8859-1 are decoded; any other
/// charset or a malformed value yields nullopt and the plain filename parameter is used instead.
std::optional<std::string> DecodeExtValue(std::string_view v) {
  auto q1 = v.find('\'');
  if (q1 == std::string_view::npos) return std::nullopt;
  auto q2 = v.find('\'', q1 + 1);
  if (q2 == std::string_view::npos) return std::nullopt;
  std::string raw;
  if (!PercentDecode(v.substr(q2 + 1), raw, false)) return std::nullopt;
  std::string_view charset = v.substr(0, q1);
  if (IEquals(charset, "UTF-8")) return raw;
  if (IEquals(charset, "ISO-8859-1")) {
    std::string utf8;
    for (char ch : raw) {
      auto c = static_cast<unsigned char>(ch);
      if (c < 0x80) {
        utf8.push_back(static_cast<char>(c));
      } else {
        utf8.push_back(static_cast<char>(0xC0 | (c >> 6)));
        utf8.push_back(static_cast<char>(0x80 | (c & 0x3F)));
      }
    }
    return utf8;
  }
  return std::nullopt;
}

void ParseContentDisposition(std::string_view value, Part& part) {
  HeaderValue h = ParseHeaderValue(value);
  if (!IEquals(h.type, "form-data")) Malformed("a part's Content-Disposition is not form-data");
  std::optional<std::string> name, filename, filename_ext;
  for (auto& [key, val] : h.params) {
    std::optional<std::string>* slot = key == "name"        ? &name
                                       : key == "filename"  ? &filename
                                       : key == "filename*" ? &filename_ext
                                                            : nullptr;
    if (!slot) continue;
    // Two names or file names make the part ambiguous: parsers that pick the first and the last
    // would disagree about what was uploaded.
    if (slot->has_value()) Malformed("a part's Content-Disposition repeats the " + key + " parameter");
    *slot = std::move(val);
  }
  if (!name) Malformed("a part's Content-Disposition has no name parameter");
  part.name = std::move(*name);
  if (filename_ext) {
    if (auto decoded = DecodeExtValue(*filename_ext)) {
      filename = std::move(decoded);
    } else if (!filename) {
      filename = std::string();
    }
  }
  if (filename) part.filename = SanitizeDisplayText(*filename, kMaxFilenameBytes);
}

/// The header block of one part: CRLF-separated lines without the terminating empty line.
void ParsePartHeaders(std::string_view block, Part& part) {
  bool have_disposition = false, have_type = false;
  std::vector<std::pair<std::string_view, std::string>> fields;
  while (!block.empty()) {
    auto eol = block.find("\r\n");
    std::string_view line = block.substr(0, eol);
    block = eol == std::string_view::npos ? std::string_view{} : block.substr(eol + 2);
    if (line.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
      Malformed("a part header contains a bare CR, LF or NUL");
    }
    if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) {  // obsolete line folding
      if (fields.empty()) Malformed("a part's headers start with a continuation line");
      fields.back().second.append(" ").append(TrimOws(line));
      continue;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) Malformed("a part header line has no field name");
    std::string_view name = line.substr(0, colon);
    if (name.find_first_of(" \t") != std::string_view::npos) Malformed("a part header name contains whitespace");
    fields.emplace_back(name, std::string(TrimOws(line.substr(colon + 1))));
  }
  for (auto& [name, value] : fields) {
    if (IEquals(name, "Content-Disposition")) {
      if (have_disposition) Malformed("a part has two Content-Disposition headers");
      have_disposition = true;
      ParseContentDisposition(value, part);
    } else if (IEquals(name, "Content-Type")) {
      if (have_type) Malformed("a part has two Content-Type headers");
      have_type = true;
      part.content_type = std::move(value);
    }
    // Anything else (Content-Transfer-Encoding is deprecated by RFC 7578 §4.7) is ignored.
  }
  if (!have_disposition) Malformed("a part has no Content-Disposition header");
}

enum class Tail { kNone, kNext, kFinal };

/// What follows "--boundary" at `at`: "--" closes the body; optional spaces/tabs then CRLF start
/// the next part (RFC 2046 transport-padding). Anything else means the match was not a delimiter
/// (RFC 2046 forbids the boundary in content, but a lookalike such as "--boundaryX" is data).
Tail DelimiterTail(std::string_view body, std::size_t at, std::size_t& next) {
  if (body.substr(at, 2) == "--") return Tail::kFinal;
  std::size_t p = at;
  while (p < body.size() && (body[p] == ' ' || body[p] == '\t')) ++p;
  if (body.substr(p, 2) == "\r\n") {
    next = p + 2;
    return Tail::kNext;
  }
  return Tail::kNone;
}

/// Offset of the next real delimiter ("\r\n--boundary" + a valid tail) at or after `from`.
std::size_t FindDelimiter(std::string_view body, std::size_t from, std::string_view delim, Tail& tail,
                          std::size_t& next) {
  for (;;) {
    std::size_t d = FindFrom(body, from, delim);
    if (d == std::string_view::npos) return d;
    tail = DelimiterTail(body, d + delim.size(), next);
    if (tail != Tail::kNone) return d;
    from = d + 1;
  }
}

struct FileDescriptor {
  int fd = -1;
  explicit FileDescriptor(int f) : fd(f) {}
  ~FileDescriptor() {
    if (fd >= 0) ::close(fd);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
};

[[noreturn]] void ThrowErrno(const std::string& what) { throw std::system_error(errno, std::generic_category(), what); }

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) throw std::runtime_error("SHA-256 init");
  }
  void Update(std::string_view data) {
    if (EVP_DigestUpdate(ctx_.get(), data.data(), data.size()) != 1) throw std::runtime_error("SHA-256 update");
  }
  std::string HexDigest() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(ctx_.get(), md, &len) != 1) throw std::runtime_error("SHA-256 final");
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(std::size_t{len} * 2);
    for (unsigned int i = 0; i < len; ++i) {
      out.push_back(kHex[md[i] >> 4]);
      out.push_back(kHex[md[i] & 0xF]);
    }
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx_;
};

}  // namespace

bool IsMultipartFormData(std::string_view content_type) {
  return IEquals(TrimOws(content_type.substr(0, content_type.find(';'))), "multipart/form-data");
}

std::string BoundaryFromContentType(std::string_view content_type) {
  HeaderValue h = ParseHeaderValue(content_type);
  std::optional<std::string> boundary;
  for (auto& [key, val] : h.params) {
    if (key != "boundary") continue;
    if (boundary) Malformed("the Content-Type has more than one boundary parameter");
    boundary = std::move(val);
  }
  if (!boundary) Malformed("the Content-Type has no boundary parameter");
  ValidateBoundary(*boundary);
  return *boundary;
}

std::vector<Part> Parse(std::string_view body, std::string_view boundary, const Limits& limits) {
  ValidateBoundary(boundary);
  const std::string delim = "\r\n--" + std::string(boundary);
  const std::string_view dash = std::string_view(delim).substr(2);

  // The first boundary may open the body or follow a preamble (which is ignored).
  Tail tail = Tail::kNone;
  std::size_t next = 0;
  if (body.starts_with(dash)) tail = DelimiterTail(body, dash.size(), next);
  if (tail == Tail::kNone && FindDelimiter(body, 0, delim, tail, next) == std::string_view::npos) {
    Malformed("the boundary from the Content-Type does not occur in the body");
  }
  if (tail == Tail::kFinal) Malformed("the body has no parts");

  std::vector<Part> parts;
  std::size_t cur = next;
  for (;;) {
    if (parts.size() >= limits.max_parts) Malformed("more than " + std::to_string(limits.max_parts) + " parts");
    if (body.substr(cur).starts_with(dash)) Malformed("two boundaries follow each other without a part");
    Part part;
    if (body.substr(cur, 2) == "\r\n") Malformed("a part has no headers (form-data needs Content-Disposition)");
    std::size_t window = std::min(body.size(), cur + limits.max_header_bytes + 4);
    std::size_t end = FindFrom(body.substr(0, window), cur, "\r\n\r\n");
    if (end == std::string_view::npos) {
      Malformed(window < body.size() ? "a part's headers exceed " + std::to_string(limits.max_header_bytes) + " bytes"
                                     : "a part's headers are not followed by an empty line");
    }
    ParsePartHeaders(body.substr(cur, end - cur), part);
    std::size_t content = end + 4;
    std::size_t d = FindDelimiter(body, content, delim, tail, next);
    if (d == std::string_view::npos) Malformed("the body ends without a closing boundary");
    part.offset = content;
    part.length = d - content;
    if (!part.is_file()) {
      if (part.length > limits.max_value_bytes) {
        Malformed("the field '" + SanitizeDisplayText(part.name, kMaxNameInMessage) + "' is larger than " +
                  std::to_string(limits.max_value_bytes) + " bytes (send files with a filename)");
      }
      part.value = std::string(body.substr(content, d - content));
    }
    parts.push_back(std::move(part));
    if (tail == Tail::kFinal) break;  // anything after the close delimiter is an epilogue: ignored
    cur = next;
  }
  return parts;
}

std::vector<Part> ParseFile(const std::string& path, std::string_view boundary, const Limits& limits) {
  FileDescriptor f(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (f.fd < 0) ThrowErrno("cannot open the upload body");
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) ThrowErrno("cannot stat the upload body");
  auto size = static_cast<std::size_t>(st.st_size);
  if (size == 0) return Parse({}, boundary, limits);  // mmap refuses length 0; Parse reports the error
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, f.fd, 0);
  if (map == MAP_FAILED) ThrowErrno("cannot map the upload body");
  struct Unmap {
    void* p;
    std::size_t n;
    ~Unmap() { ::munmap(p, n); }
  } unmap{map, size};
  ::madvise(map, size, MADV_SEQUENTIAL);
  return Parse(std::string_view(static_cast<const char*>(map), size), boundary, limits);
}

const Part* FindPart(const std::vector<Part>& parts, std::string_view name) {
  auto it = std::find_if(parts.begin(), parts.end(), [name](const Part& p) { return p.name == name; });
  return it == parts.end() ? nullptr : &*it;
}

void ReadPart(const std::string& body_path, const Part& part, const std::function<void(std::string_view)>& sink,
              std::size_t chunk_size) {
  FileDescriptor f(::open(body_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (f.fd < 0) ThrowErrno("cannot open the upload body");
  if (chunk_size == 0) chunk_size = std::size_t{256} * 1024;
  std::string buf(static_cast<std::size_t>(std::min<std::uint64_t>(chunk_size, part.length)), '\0');
  std::uint64_t done = 0;
  while (done < part.length) {
    auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), part.length - done));
    ssize_t n = ::pread(f.fd, buf.data(), want, static_cast<off_t>(part.offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      ThrowErrno("cannot read the upload body");
    }
    if (n == 0) throw std::system_error(std::make_error_code(std::errc::io_error), "the upload body is truncated");
    sink(std::string_view(buf.data(), static_cast<std::size_t>(n)));
    done += static_cast<std::uint64_t>(n);
  }
}

std::string ReadPartHead(const std::string& body_path, const Part& part, std::size_t max_bytes) {
  Part head = part;
  head.length = std::min<std::uint64_t>(part.length, max_bytes);
  std::string out;
  out.reserve(static_cast<std::size_t>(head.length));
  ReadPart(body_path, head, [&out](std::string_view chunk) { out.append(chunk); });
  return out;
}

std::string Sha256OfPart(const std::string& body_path, const Part& part) {
  Sha256 hash;
  ReadPart(body_path, part, [&hash](std::string_view chunk) { hash.Update(chunk); });
  return hash.HexDigest();
}

CopyResult CopyPartToFile(const std::string& body_path, const Part& part, const std::string& dest_path) {
  FileDescriptor out(::open(dest_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (out.fd < 0) ThrowErrno("cannot create " + dest_path);
  try {
    Sha256 hash;
    CopyResult result;
    ReadPart(body_path, part, [&](std::string_view chunk) {
      hash.Update(chunk);
      while (!chunk.empty()) {
        ssize_t n = ::write(out.fd, chunk.data(), chunk.size());
        if (n < 0) {
          if (errno == EINTR) continue;
          ThrowErrno("cannot write " + dest_path);
        }
        chunk.remove_prefix(static_cast<std::size_t>(n));
        result.bytes += static_cast<std::uint64_t>(n);
      }
    });
    if (::fsync(out.fd) != 0) ThrowErrno("cannot flush " + dest_path);
    if (::close(std::exchange(out.fd, -1)) != 0) ThrowErrno("cannot close " + dest_path);
    result.sha256 = hash.HexDigest();
    return result;
  } catch (...) {
    if (out.fd >= 0) ::close(std::exchange(out.fd, -1));
    ::unlink(dest_path.c_str());
    throw;
  }
}

}  // namespace studio::http::multipart
