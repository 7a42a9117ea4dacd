#include "api/v1/conversation_routes.hpp"

#include "api/v1/iso_time.hpp"
#include "api/v1/or_null.hpp"
#include "api/v1/paging.hpp"
#include "core/error.hpp"

namespace studio::api::v1 {
namespace {

using http::Request;
using http::Response;

constexpr int kMaxMessagesPerPage = 500;

Json ConversationJson(const store::ConversationRecord& c) {
  return Json{{"id", c.id},
              {"agent", c.agent},
              {"channel", c.channel},
              {"title", c.title},
              {"messageCount", c.message_count},
              {"summary", c.summary},
              {"createdAt", IsoUtcMs(c.created_at_ms)},
              {"updatedAt", IsoUtcMs(c.updated_at_ms)}};
}

Json ParsedOr(const std::optional<std::string>& text, Json fallback) {
  if (!text) return fallback;
  Json j = Json::parse(*text, nullptr, false);
  return j.is_discarded() ? fallback : j;
}

}  // namespace

Json MessageJson(const store::MessageRecord& m) {
  return Json{{"id", m.id},
              {"seq", m.seq},
              {"role", m.role},
              {"content", m.content},
              {"status", m.status},
              {"sources", ParsedOr(m.sources_json, Json::array())},
              {"usage", ParsedOr(m.usage_json, Json(nullptr))},
              {"confidence", OrNull(m.confidence)},
              {"model", OrNull(m.model)},
              {"createdAt", IsoUtcMs(m.created_at_ms)}};
}

void AddConversationRoutes(http::Router& router, ApiContext& ctx) {
  AddGuarded(router, ctx, "GET", "/api/v1/conversations", [&ctx](Request& req, const Caller& caller) {
    const std::string& ws = caller.Get().workspace_id;
    const int limit = LimitOf(req, 20, 100);
    const auto cursor = TimeCursorOf(req);
    auto rows = ctx.db->ReadValue([&](store::Tx& tx) { return store::conversations::List(tx, ws, cursor, limit + 1); });
    const bool more = static_cast<int>(rows.size()) > limit;
    if (more) rows.pop_back();
    Json data = Json::array();
    for (const auto& c : rows) data.push_back(ConversationJson(c));
    Json next = more ? Json(EncodeTimeCursor(rows.back().updated_at_ms, rows.back().id)) : Json(nullptr);
    return Response::MakeJson(200, Json{{"data", std::move(data)}, {"nextCursor", std::move(next)}});
  });

  // The conversation with its messages, oldest first: ?afterSeq= and ?limit= page through long ones.
  AddGuarded(router, ctx, "GET", "/api/v1/conversations/{conversationId}", [&ctx](Request& req, const Caller& caller) {
    const std::string& ws = caller.Get().workspace_id;
    const int limit = LimitOf(req, 200, kMaxMessagesPerPage);
    const int after = IntQuery(req, "afterSeq", 0, 1'000'000'000);
    std::optional<store::ConversationRecord> conversation;
    std::vector<store::MessageRecord> messages;
    ctx.db->Read([&](store::Tx& tx) {
      conversation = store::conversations::Find(tx, ws, req.Param("conversationId"));
      if (conversation) messages = store::conversations::Messages(tx, ws, conversation->id, after + 1, limit + 1);
    });
    if (!conversation) throw NotFound("The conversation does not exist.", "CONVERSATION_NOT_FOUND");
    const bool more = static_cast<int>(messages.size()) > limit;
    if (more) messages.pop_back();
    Json out = ConversationJson(*conversation);
    Json list = Json::array();
    for (const auto& m : messages) list.push_back(MessageJson(m));
    out["messages"] = std::move(list);
    out["nextAfterSeq"] = more ? Json(messages.back().seq) : Json(nullptr);
    return Response::MakeJson(200, out);
  });

  AddGuarded(router, ctx, "DELETE", "/api/v1/conversations/{conversationId}",
             [&ctx](Request& req, const Caller& caller) {
               const std::string& ws = caller.Get().workspace_id;
               const bool deleted = ctx.db->WriteValue(
                   [&](store::Tx& tx) { return store::conversations::Delete(tx, ws, req.Param("conversationId")); });
               if (!deleted) throw NotFound("The conversation does not exist.", "CONVERSATION_NOT_FOUND");
               return Response::NoContent();
             });
}

}  // namespace studio::api::v1
