#include "http/multipart.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <system_error>

#include "core/error.hpp"

namespace studio::http::multipart {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kB = "----StudioBoundary7MA4YWxk";

struct Field {
  std::string name;
  std::string data;
  std::optional<std::string> filename;
  std::string content_type;
};

std::string Body(const std::vector<Field>& fields, std::string_view boundary = kB) {
  std::string out;
  for (const auto& f : fields) {
    out += "--" + std::string(boundary) + "\r\n";
    out += "Content-Disposition: form-data; name=\"" + f.name + "\"";
    if (f.filename) out += "; filename=\"" + *f.filename + "\"";
    out += "\r\n";
    if (!f.content_type.empty()) out += "Content-Type: " + f.content_type + "\r\n";
    out += "\r\n" + f.data + "\r\n";
  }
  out += "--" + std::string(boundary) + "--\r\n";
  return out;
}

// One part with the given raw header block (each header line without its CRLF).
std::string OnePart(std::string_view headers, std::string_view data) {
  return "--" + std::string(kB) + "\r\n" + std::string(headers) + "\r\n\r\n" + std::string(data) + "\r\n--" +
         std::string(kB) + "--\r\n";
}

std::string Malformation(std::string_view body, const Limits& limits = {}) {
  try {
    Parse(body, kB, limits);
  } catch (const BadRequest& e) {
    EXPECT_EQ(e.code(), "MALFORMED_MULTIPART");
    EXPECT_EQ(e.status(), 400);
    return e.detail();
  }
  ADD_FAILURE() << "parsed without error";
  return {};
}

std::string BoundaryError(std::string_view content_type) {
  try {
    BoundaryFromContentType(content_type);
  } catch (const BadRequest& e) {
    EXPECT_EQ(e.code(), "MALFORMED_MULTIPART");
    return e.detail();
  }
  ADD_FAILURE() << "accepted " << content_type;
  return {};
}

std::string Slice(std::string_view body, const Part& p) {
  return std::string(body.substr(static_cast<std::size_t>(p.offset), static_cast<std::size_t>(p.length)));
}

std::string HexSha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  std::string out;
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 0xF]);
  }
  return out;
}

std::string RandomBytes(std::size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(gen() & 0xFF);
  return out;
}

// Binary content made to trip a careless parser: CR/LF everywhere, boundary prefixes, and a
// boundary lookalike that is not followed by "--" or CRLF.
std::string TrickyBinary() {
  std::string b = RandomBytes(4096, 7);
  b += "\r\n\r\n\n\r--";
  b += "\r\n--" + std::string(kB).substr(0, 10);
  b += "\r\n--" + std::string(kB) + "X not a delimiter";
  b += "--" + std::string(kB) + "\r\n";  // no CRLF before it: not a delimiter either
  b += std::string("\0\0\xff\r", 4);
  b += RandomBytes(1000, 8);
  b += "\r";
  return b;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "multipart-test-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string File(std::string_view name) const { return path_ + "/" + std::string(name); }
  std::string Write(std::string_view name, std::string_view data) const {
    std::ofstream(File(name), std::ios::binary).write(data.data(), static_cast<std::streamsize>(data.size()));
    return File(name);
  }

 private:
  std::string path_;
};

TEST(Multipart, ParsesTextAndFileParts) {
  std::string binary = TrickyBinary();
  std::string body = Body({{"title", "Quarterly report", {}, {}},
                           {"metadata", R"({"tags":["q3"]})", {}, "application/json"},
                           {"file", binary, "report.pdf", "application/pdf"}});
  auto parts = Parse(body, kB);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].name, "title");
  EXPECT_FALSE(parts[0].is_file());
  EXPECT_EQ(parts[0].value, "Quarterly report");
  EXPECT_EQ(parts[1].value, R"({"tags":["q3"]})");
  EXPECT_EQ(parts[1].content_type, "application/json");
  const Part* file = FindPart(parts, "file");
  ASSERT_NE(file, nullptr);
  EXPECT_TRUE(file->is_file());
  EXPECT_EQ(*file->filename, "report.pdf");
  EXPECT_EQ(file->content_type, "application/pdf");
  EXPECT_TRUE(file->value.empty()) << "file parts are never copied";
  EXPECT_EQ(file->length, binary.size());
  EXPECT_EQ(Slice(body, *file), binary);
  EXPECT_EQ(FindPart(parts, "missing"), nullptr);
}

TEST(Multipart, EmptyPartsAndEmptyFilename) {
  std::string body = Body({{"note", "", {}, {}}, {"file", "", "", "application/octet-stream"}});
  auto parts = Parse(body, kB);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].value, "");
  EXPECT_EQ(parts[0].length, 0u);
  EXPECT_TRUE(parts[1].is_file()) << "filename=\"\" is what browsers send for no file chosen";
  EXPECT_EQ(*parts[1].filename, "");
  EXPECT_EQ(parts[1].length, 0u);
}

TEST(Multipart, PreambleEpilogueAndTransportPadding) {
  std::string body = "This is a preamble.\r\n--" + std::string(kB) +
                     " \t\r\n"
                     "Content-Disposition: form-data; name=\"a\"\r\n\r\none\r\n--" +
                     std::string(kB) + "\t\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\ntwo\r\n--" +
                     std::string(kB) + "--\r\nepilogue with --" + std::string(kB) + " inside";
  auto parts = Parse(body, kB);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].value, "one");
  EXPECT_EQ(parts[1].value, "two");
}

TEST(Multipart, HeaderNamesAreCaseInsensitiveAndFoldedLinesJoin) {
  auto parts = Parse(OnePart("content-disposition: FORM-DATA;\r\n name=\"a\"\r\nX-Other: ignored", "v"), kB);
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(parts[0].name, "a");
  EXPECT_EQ(parts[0].value, "v");
}

TEST(Multipart, QuotedAndEscapedFilenames) {
  auto name_of = [](std::string_view disposition) {
    auto parts = Parse(OnePart("Content-Disposition: " + std::string(disposition), "x"), kB);
    EXPECT_TRUE(parts.at(0).is_file());
    return parts.at(0).filename.value_or("<none>");
  };
  EXPECT_EQ(name_of(R"(form-data; name="f"; filename="a \"quoted\" name.pdf")"), "a \"quoted\" name.pdf");
  EXPECT_EQ(name_of(R"(form-data; name="f"; filename="semi;colon.txt")"), "semi;colon.txt");
  EXPECT_EQ(name_of(R"(form-data; name="f"; filename="C:\dir\a.txt")"), R"(C:\dir\a.txt)");
  EXPECT_EQ(name_of(R"(form-data; name="f"; filename=plain.txt)"), "plain.txt");
  EXPECT_EQ(name_of(R"(form-data; name="f"; filename="../../etc/passwd")"), "../../etc/passwd")
      << "kept as given: display only, never a path";
  // RFC 8187 filename* wins over filename when it can be decoded.
  EXPECT_EQ(name_of(R"(form-data; name="f"; filename="naive.txt"; filename*=UTF-8''na%C3%AFve%20r%C3%A9sum%C3%A9.txt)"),
            "na\xC3\xAFve r\xC3\xA9sum\xC3\xA9.txt");
  EXPECT_EQ(name_of(R"(form-data; name="f"; filename*=iso-8859-1'en'caf%E9.txt)"), "caf\xC3\xA9.txt");
  EXPECT_EQ(name_of(R"(form-data; name="f"; filename="fallback.txt"; filename*=KOI8-R''%C1)"), "fallback.txt");
  EXPECT_EQ(name_of(R"(form-data; name="f"; filename*=UTF-8''bad%zz)"), "");
  // Control characters, bidi overrides and invalid UTF-8 never reach the display name.
  EXPECT_EQ(name_of("form-data; name=\"f\"; filename=\"a\tb\x01\x7f.txt\""), "ab.txt");
  EXPECT_EQ(name_of("form-data; name=\"f\"; filename=\"evil\xE2\x80\xAEtxt.exe\""), "eviltxt.exe");
  EXPECT_EQ(name_of("form-data; name=\"f\"; filename=\"bad\xff\xc0\xaf.txt\""),
            "bad\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD.txt");
  EXPECT_EQ(name_of("form-data; name=\"f\"; filename=\"" + std::string(400, 'n') + "\"").size(), 255u);
}

TEST(Multipart, BoundaryLookalikesInContentAreData) {
  std::string data = "line\r\n--" + std::string(kB) + "suffix\r\n--" + std::string(kB).substr(0, 5) + "\r\n";
  std::string body = Body({{"file", data, "x.bin", {}}});
  auto parts = Parse(body, kB);
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_EQ(Slice(body, parts[0]), data);
}

TEST(Multipart, MalformedBodiesAreRejectedWithAReason) {
  std::string b(kB);
  std::string cd = "Content-Disposition: form-data; name=\"a\"";
  EXPECT_NE(Malformation("").find("does not occur"), std::string::npos);
  EXPECT_NE(Malformation("no boundary anywhere").find("does not occur"), std::string::npos);
  EXPECT_NE(Malformation("--" + b + "--\r\n").find("no parts"), std::string::npos);
  EXPECT_NE(Malformation("--" + b + "\r\n" + cd + "\r\n\r\nvalue with no end").find("without a closing boundary"),
            std::string::npos);
  EXPECT_NE(Malformation("--" + b + "\r\n" + cd + "\r\n\r\nvalue\r\n--" + b + "\r\n").find("headers"),
            std::string::npos)
      << "a delimiter that is neither the last nor followed by a part";
  EXPECT_NE(Malformation("--" + b + "\r\n--" + b + "\r\n" + cd + "\r\n\r\nv\r\n--" + b + "--").find("two boundaries"),
            std::string::npos);
  EXPECT_NE(Malformation("--" + b + "\r\n\r\nv\r\n--" + b + "--").find("no headers"), std::string::npos);
  EXPECT_NE(Malformation("--" + b + "\n" + cd + "\n\nv\n--" + b + "--\n").find("does not occur"), std::string::npos)
      << "bare LF line endings are not multipart";
  EXPECT_NE(Malformation(OnePart("Content-Type: text/plain", "v")).find("no Content-Disposition"), std::string::npos);
  EXPECT_NE(Malformation(OnePart("Content-Disposition: attachment; name=\"a\"", "v")).find("not form-data"),
            std::string::npos);
  EXPECT_NE(Malformation(OnePart("Content-Disposition: form-data; filename=\"a\"", "v")).find("no name"),
            std::string::npos);
  EXPECT_NE(Malformation(OnePart("Content-Disposition: form-data; name=\"a\"; name=\"b\"", "v")).find("repeats"),
            std::string::npos);
  EXPECT_NE(Malformation(OnePart("Content-Disposition: form-data; name=\"a\"; filename=\"x\"; filename=\"y\"", "v"))
                .find("repeats the filename"),
            std::string::npos);
  EXPECT_NE(Malformation(OnePart(cd + "\r\n" + cd, "v")).find("two Content-Disposition"), std::string::npos);
  EXPECT_NE(Malformation(OnePart(cd + "\r\nContent-Type: a/b\r\nContent-Type: c/d", "v")).find("two Content-Type"),
            std::string::npos);
  EXPECT_NE(Malformation(OnePart(cd + "\r\nno colon here", "v")).find("no field name"), std::string::npos);
  EXPECT_NE(Malformation(OnePart(cd + "\nX-Smuggled: 1", "v")).find("bare CR, LF or NUL"), std::string::npos);
  EXPECT_NE(Malformation(OnePart("Content-Disposition: form-data; name=\"a", "v")).find("not terminated"),
            std::string::npos);
  EXPECT_NE(Malformation(OnePart("Content-Disposition: form-data; name=\"a\" junk", "v")).find("after a quoted"),
            std::string::npos);
  EXPECT_NE(Malformation(OnePart(" folded: first", "v")).find("continuation"), std::string::npos);
}

TEST(Multipart, LimitsOnHeadersPartsAndTextFields) {
  Limits limits;
  limits.max_parts = 20;
  limits.max_header_bytes = 512;
  limits.max_value_bytes = 100;
  std::string long_header = "Content-Disposition: form-data; name=\"a\"\r\nX-Pad: " + std::string(600, 'p');
  EXPECT_NE(Malformation(OnePart(long_header, "v") + std::string(1000, 'z'), limits).find("exceed 512 bytes"),
            std::string::npos);

  std::vector<Field> fields;
  fields.reserve(21);
  for (int i = 0; i < 21; ++i) fields.push_back({"f" + std::to_string(i), "v", {}, {}});
  EXPECT_NE(Malformation(Body(fields), limits).find("more than 20 parts"), std::string::npos);
  fields.pop_back();
  EXPECT_EQ(Parse(Body(fields), kB, limits).size(), 20u);

  EXPECT_NE(Malformation(Body({{"title", std::string(101, 't'), {}, {}}}), limits).find("'title' is larger than 100"),
            std::string::npos);
  EXPECT_EQ(Parse(Body({{"title", std::string(100, 't'), {}, {}}}), kB, limits)[0].value.size(), 100u);
  // A file part is not a text field: its size is bounded by the upload limit, not here.
  EXPECT_EQ(Parse(Body({{"file", std::string(1000, 'f'), "f.txt", {}}}), kB, limits)[0].length, 1000u);
}

TEST(Multipart, HostileBoundaryOverLookalikeBodyStaysLinear) {
  // A naive or Boyer-Moore-Horspool search would compare ~70 bytes at each of 4 Mi offsets here.
  std::string boundary(70, '-');
  std::string body = "x" + std::string(std::size_t{4} << 20, '-');
  try {
    Parse(body, boundary);
    ADD_FAILURE() << "parsed";
  } catch (const BadRequest& e) {
    EXPECT_EQ(e.code(), "MALFORMED_MULTIPART");
  }
}

TEST(Multipart, ContentTypeAndBoundary) {
  EXPECT_TRUE(IsMultipartFormData("multipart/form-data; boundary=x"));
  EXPECT_TRUE(IsMultipartFormData("Multipart/Form-Data ;boundary=x"));
  EXPECT_FALSE(IsMultipartFormData("multipart/mixed; boundary=x"));
  EXPECT_FALSE(IsMultipartFormData("application/json"));
  EXPECT_FALSE(IsMultipartFormData(""));

  EXPECT_EQ(BoundaryFromContentType("multipart/form-data; boundary=abc123"), "abc123");
  EXPECT_EQ(BoundaryFromContentType("multipart/form-data; charset=utf-8; BOUNDARY=\"a b:c\""), "a b:c");
  EXPECT_EQ(BoundaryFromContentType("multipart/form-data;boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW"),
            "----WebKitFormBoundary7MA4YWxkTrZu0gW");
  EXPECT_NE(BoundaryError("multipart/form-data").find("no boundary"), std::string::npos);
  EXPECT_NE(BoundaryError("multipart/form-data; boundary=a; boundary=b").find("more than one"), std::string::npos);
  EXPECT_NE(BoundaryError("multipart/form-data; boundary=").find("1 to 70"), std::string::npos);
  EXPECT_NE(BoundaryError("multipart/form-data; boundary=" + std::string(71, 'b')).find("1 to 70"), std::string::npos);
  EXPECT_NE(BoundaryError("multipart/form-data; boundary=\"ab \"").find("1 to 70"), std::string::npos);
  EXPECT_NE(BoundaryError(std::string("multipart/form-data; boundary=a\x01z")).find("1 to 70"), std::string::npos);
  EXPECT_EQ(BoundaryFromContentType("multipart/form-data; boundary=" + std::string(70, 'b')).size(), 70u);
}

TEST(Multipart, FilePartsAreReadHashedAndCopiedInChunks) {
  TempDir dir;
  std::string big = RandomBytes(std::size_t{1} << 20, 42) + TrickyBinary();
  std::string body = Body({{"title", "T", {}, {}}, {"file", big, "big.bin", "application/octet-stream"}});
  std::string path = dir.Write("body", body);

  auto parts = ParseFile(path, kB);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].value, "T");
  const Part& file = parts[1];
  ASSERT_EQ(file.length, big.size());

  std::string joined;
  int chunks = 0;
  ReadPart(
      path, file,
      [&](std::string_view chunk) {
        EXPECT_LE(chunk.size(), 65536u);
        EXPECT_FALSE(chunk.empty());
        joined.append(chunk);
        ++chunks;
      },
      65536);
  EXPECT_EQ(joined, big);
  EXPECT_GE(chunks, static_cast<int>(big.size() / 65536));

  EXPECT_EQ(ReadPartHead(path, file, 16), big.substr(0, 16));
  EXPECT_EQ(ReadPartHead(path, parts[0], 1000), "T");
  EXPECT_EQ(Sha256OfPart(path, file), HexSha256(big));

  std::string dest = dir.File("copy.bin");
  CopyResult copied = CopyPartToFile(path, file, dest);
  EXPECT_EQ(copied.bytes, big.size());
  EXPECT_EQ(copied.sha256, HexSha256(big));
  std::ifstream in(dest, std::ios::binary);
  std::ostringstream back;
  back << in.rdbuf();
  EXPECT_EQ(back.str(), big);
  struct stat st {};
  ASSERT_EQ(stat(dest.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // Never overwrites: an existing destination is an error and stays as it was.
  std::string existing = dir.Write("existing", "keep me");
  EXPECT_THROW(CopyPartToFile(path, file, existing), std::system_error);
  std::ifstream kept(existing);
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(kept)), std::istreambuf_iterator<char>()), "keep me");
}

TEST(Multipart, KnownSha256AndTruncatedBodyFile) {
  TempDir dir;
  std::string body = Body({{"file", "abc", "abc.txt", {}}});
  std::string path = dir.Write("body", body);
  auto parts = ParseFile(path, kB);
  EXPECT_EQ(Sha256OfPart(path, parts.at(0)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

  Part beyond = parts[0];
  beyond.offset = body.size() - 1;
  beyond.length = 10;
  EXPECT_THROW(Sha256OfPart(path, beyond), std::system_error);
  EXPECT_THROW(CopyPartToFile(path, beyond, dir.File("partial")), std::system_error);
  EXPECT_FALSE(fs::exists(dir.File("partial"))) << "a failed copy leaves no partial file";

  EXPECT_THROW(ParseFile(dir.File("missing"), kB), std::system_error);
  std::string empty = dir.Write("empty", "");
  EXPECT_THROW(ParseFile(empty, kB), BadRequest);
}

}  // namespace
}  // namespace studio::http::multipart
