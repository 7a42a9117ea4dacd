#include "http/router.hpp"

#include <gtest/gtest.h>

namespace studio::http {
namespace {

Handler Ok() {
  return [](Request&) { return Response::NoContent(); };
}

TEST(Router, MatchesLiteralsBeforeParameters) {
  Router r;
  r.Add("GET", "/api/v1/documents/{id}", Ok());
  r.Add("GET", "/api/v1/documents/stats", Ok());
  auto m = r.Find("GET", "/api/v1/documents/stats");
  ASSERT_EQ(m.kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(m.route->pattern, "/api/v1/documents/stats");
  EXPECT_TRUE(m.params.empty());
  auto p = r.Find("GET", "/api/v1/documents/doc_1");
  ASSERT_EQ(p.kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(p.route->pattern, "/api/v1/documents/{id}");
  ASSERT_EQ(p.params.size(), 1u);
  EXPECT_EQ(p.params[0].second, "doc_1");
}

TEST(Router, DecodesParametersPerSegment) {
  Router r;
  r.Add("GET", "/a/{x}/b", Ok());
  auto m = r.Find("GET", "/a/one%2Ftwo/b");  // an encoded slash stays inside the parameter
  ASSERT_EQ(m.kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(m.params[0].second, "one/two");
  EXPECT_EQ(r.Find("GET", "/a/%zz/b").kind, RouteMatch::Kind::kNotFound);
}

TEST(Router, MethodNotAllowedListsMethods) {
  Router r;
  r.Add("GET", "/x", Ok());
  r.Add("POST", "/x", Ok());
  auto m = r.Find("DELETE", "/x");
  EXPECT_EQ(m.kind, RouteMatch::Kind::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "GET, HEAD, POST");
  EXPECT_EQ(r.Find("HEAD", "/x").kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(r.Find("GET", "/x/y").kind, RouteMatch::Kind::kNotFound);
  EXPECT_EQ(r.Find("GET", "/").kind, RouteMatch::Kind::kNotFound);
}

TEST(Router, RejectsDuplicatesAndMalformedPatterns) {
  Router r;
  r.Add("GET", "/x/{id}", Ok());
  EXPECT_THROW(r.Add("GET", "/x/{id}", Ok()), std::logic_error);
  EXPECT_THROW(r.Add("GET", "/x/{other}/y", Ok()), std::logic_error);
  EXPECT_THROW(r.Add("GET", "no-slash", Ok()), std::logic_error);
  EXPECT_THROW(r.Add("GET", "/a{b}", Ok()), std::logic_error);
}

TEST(PercentDecode, HandlesPlusAndErrors) {
  std::string out;
  ASSERT_TRUE(PercentDecode("a+b%20c", out, true));
  EXPECT_EQ(out, "a b c");
  ASSERT_TRUE(PercentDecode("a+b", out, false));
  EXPECT_EQ(out, "a+b");
  EXPECT_FALSE(PercentDecode("%4", out, false));
  EXPECT_FALSE(PercentDecode("%", out, false));
  EXPECT_FALSE(PercentDecode("%g0", out, false));
}

TEST(Router, UploadRoutesMustRunOnTheBlockingPool) {
  Router r;
  EXPECT_THROW(r.Add("POST", "/up", Ok(), {.execution = Execution::kInline, .upload_to_file = true}), std::logic_error);
  EXPECT_THROW(r.AddSse("POST", "/up", [](Request&, SseStream&) {}, {.upload_to_file = true}), std::logic_error);
  r.Add("POST", "/up", Ok(), {.upload_to_file = true});
  EXPECT_TRUE(r.Find("POST", "/up").route->options.upload_to_file);
}

}  // namespace
}  // namespace studio::http
