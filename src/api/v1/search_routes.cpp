#include "api/v1/search_routes.hpp"

#include <ctime>
#include <optional>
#include <string>

#include "api/v1/body.hpp"
#include "api/v1/or_null.hpp"
#include "core/error.hpp"
#include "core/json.hpp"
#include "search/retriever/retriever.hpp"

namespace studio::api::v1 {
namespace {

using http::Request;
using http::Response;

[[noreturn]] void Invalid(const std::string& field, const std::string& detail) {
  throw ValidationFailed(detail, {{field, "is not valid"}});
}

// A time bound: Unix milliseconds, or an ISO-8601 UTC time "2026-01-31T12:00:00Z" (fractional
// seconds allowed).
std::int64_t TimeOf(const Json& v, const std::string& field) {
  if (v.is_number_integer() && v.get<long long>() >= 0) return v.get<std::int64_t>();
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    std::tm tm{};
    const char* end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
    int ms = 0;
    if (end && *end == '.') {
      ++end;
      int digits = 0;
      while (*end >= '0' && *end <= '9') {
        if (digits < 3) ms = ms * 10 + (*end - '0');
        ++digits;
        ++end;
      }
      for (int d = digits; d < 3; ++d) ms *= 10;
    }
    if (end && std::string_view(end) == "Z") return static_cast<std::int64_t>(timegm(&tm)) * 1000 + ms;
  }
  Invalid(field, "'" + field + "' must be Unix milliseconds or an ISO-8601 UTC time such as 2026-01-31T12:00:00Z.");
}

std::vector<std::string> Strings(const Json& v, const std::string& field, std::size_t max_items) {
  std::vector<std::string> out;
  bool ok = v.is_array() && v.size() <= max_items;
  if (ok) {
    for (const auto& s : v) {
      ok = ok && s.is_string() && !s.get<std::string>().empty() && s.get<std::string>().size() <= 200;
      if (ok) out.push_back(s.get<std::string>());
    }
  }
  if (!ok) {
    Invalid(field, "'" + field + "' must be an array of at most " + std::to_string(max_items) + " non-empty strings.");
  }
  return out;
}

search::SearchFilter FilterOf(const Json& f) {
  search::SearchFilter filter;
  if (f.is_null()) return filter;
  if (!f.is_object()) Invalid("filter", "'filter' must be an object.");
  for (const auto& [key, value] : f.items()) {
    if (key == "documentIds") {
      filter.document_ids = Strings(value, "filter.documentIds", 1000);
    } else if (key == "tags") {
      filter.tags = Strings(value, "filter.tags", 100);
    } else if (key == "tagMatch") {
      const std::string m = value.is_string() ? value.get<std::string>() : "";
      if (m != "any" && m != "all") Invalid("filter.tagMatch", "'filter.tagMatch' must be 'any' or 'all'.");
      filter.tag_match = m == "all" ? search::TagMatch::kAll : search::TagMatch::kAny;
    } else if (key == "createdAfter") {
      filter.created_after_ms = TimeOf(value, "filter.createdAfter");
    } else if (key == "createdBefore") {
      filter.created_before_ms = TimeOf(value, "filter.createdBefore");
    } else {
      throw BadRequest("Unknown field 'filter." + key + "'.", {{"filter." + key, "unknown field"}}, "UNKNOWN_FIELDS");
    }
  }
  return filter;
}

std::optional<double> NumberOf(const Json& body, const char* field) {
  auto it = body.find(field);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_number()) Invalid(field, std::string("'") + field + "' must be a number.");
  return it->get<double>();
}

double Ms(std::chrono::microseconds us) { return static_cast<double>(us.count()) / 1000.0; }

Json HitJson(const search::SearchHit& h) {
  Json highlights = Json::array();
  for (const auto& hl : h.snippet.highlights) highlights.push_back(Json{{"offset", hl.offset}, {"length", hl.length}});
  return Json{{"chunkId", h.chunk_id},
              {"documentId", h.document_id},
              {"title", h.title},
              {"url", h.url ? Json(*h.url) : Json(nullptr)},
              {"headingPath", h.heading_path},
              {"pageStart", h.page_start},
              {"pageEnd", h.page_end},
              {"ordinal", h.ordinal},
              {"snippet", h.snippet.text},
              {"highlights", std::move(highlights)},
              {"score", h.score},
              {"cosine", OrNull(h.cosine)},
              {"keywordScore", OrNull(h.keyword_score)},
              {"vectorRank", OrNull(h.vector_rank)},
              {"keywordRank", OrNull(h.keyword_rank)}};
}

}  // namespace

void AddSearchRoutes(http::Router& router, ApiContext& ctx) {
  AddGuarded(router, ctx, "POST", "/api/v1/search", [&ctx](Request& req, const Caller& caller) {
    Json body = ObjectBody(req);
    RejectUnknownFields(body, {"query", "topK", "mode", "filter", "threshold", "mmrLambda", "workspaceId"});
    CheckBodyWorkspace(body, caller.Get().workspace_id);
    search::SearchRequest sr;
    sr.query = RequiredString(body, "query", 4096);
    if (auto it = body.find("topK"); it != body.end() && !it->is_null()) {
      if (!it->is_number_integer()) Invalid("topK", "'topK' must be an integer from 1 to 100.");
      sr.top_k = static_cast<int>(std::clamp<long long>(it->get<long long>(), -1, 1000));
    }
    if (auto mode = OptionalString(body, "mode", 16)) {
      auto parsed = search::ParseSearchMode(*mode);
      if (!parsed) Invalid("mode", "'mode' must be hybrid, vector or keyword.");
      sr.mode = *parsed;
    }
    sr.filter = FilterOf(body.value("filter", Json()));
    sr.threshold = NumberOf(body, "threshold");
    sr.mmr_lambda = NumberOf(body, "mmrLambda");
    // The retriever validates ranges (topK, threshold, lambda, query length) with 400s of its own.
    search::SearchResult result = ctx.retriever->Search(caller.Get().workspace_id, sr);
    Json results = Json::array();
    for (const auto& h : result.hits) results.push_back(HitJson(h));
    const auto& t = result.timings;
    return Response::MakeJson(200, Json{{"query", sr.query},
                                        {"mode", search::SearchModeName(sr.mode)},
                                        {"topK", sr.top_k},
                                        {"results", std::move(results)},
                                        {"timings",
                                         {{"totalMs", Ms(t.total)},
                                          {"embedMs", Ms(t.embed)},
                                          {"vectorMs", Ms(t.vector)},
                                          {"keywordMs", Ms(t.keyword)},
                                          {"hydrateMs", Ms(t.hydrate)}}}});
  });
}

}  // namespace studio::api::v1
