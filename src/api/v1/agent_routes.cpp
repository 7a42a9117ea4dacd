#include "api/v1/agent_routes.hpp"

#include <memory>

#include "api/v1/body.hpp"
#include "core/error.hpp"
#include "llm/chat_model.hpp"

namespace studio::api::v1 {
namespace {

using http::Request;
using http::Response;

constexpr std::size_t kMaxMessageBytes = 10'000;
constexpr std::size_t kMaxContextBytes = 4'096;
constexpr std::size_t kMaxInputMessages = 100;

// The model's token counts, plus what the agent counted for the prompt it built and the budget
// that prompt had to fit in (contextTokens <= contextBudget; 0 for the fallback without a model).
Json UsageJson(const agent::TurnResult& r) {
  return Json{{"promptTokens", r.usage.prompt_tokens},
              {"completionTokens", r.usage.completion_tokens},
              {"totalTokens", r.usage.total_tokens()},
              {"contextTokens", r.context_tokens},
              {"contextBudget", r.context_budget}};
}

agent::TurnRequest TurnOf(const Caller& caller, std::string channel) {
  agent::TurnRequest turn;
  turn.workspace_id = caller.Get().workspace_id;
  turn.channel = std::move(channel);
  if (!caller.Get().user_id.empty()) turn.user_id = caller.Get().user_id;
  return turn;
}

// {input: {messages: [{role, content}…]}}: the last must be the user's; system messages become
// instructions, the rest history.
void ParseInputMessages(const Json& input, agent::TurnRequest& turn) {
  auto bad = [](const std::string& field, const std::string& detail) {
    throw ValidationFailed(detail, {{field, "is not valid"}});
  };
  if (!input.is_object() || !input.contains("messages")) bad("input", "'input' must be an object with 'messages'.");
  for (const auto& [key, value] : input.items()) {
    if (key != "messages") throw BadRequest("Unknown field 'input." + key + "'.", {{"input." + key, "unknown field"}}, "UNKNOWN_FIELDS");
  }
  const Json& messages = input["messages"];
  if (!messages.is_array() || messages.empty() || messages.size() > kMaxInputMessages) {
    bad("input.messages", "'input.messages' must be an array of 1 to " + std::to_string(kMaxInputMessages) + " messages.");
  }
  std::vector<llm::Message> history;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const Json& m = messages[i];
    const std::string field = "input.messages[" + std::to_string(i) + "]";
    if (!m.is_object() || !m.contains("role") || !m.contains("content") || !m["role"].is_string() ||
        !m["content"].is_string()) {
      bad(field, "'" + field + "' must be {role, content} with string values.");
    }
    const std::string role = m["role"].get<std::string>();
    const std::string content = m["content"].get<std::string>();
    if (content.size() > kMaxMessageBytes) bad(field + ".content", "'" + field + ".content' is longer than 10000 bytes.");
    if (role == "system") {
      turn.client_instructions.push_back(content);
    } else if (role == "user" || role == "assistant") {
      history.push_back({role == "user" ? llm::Role::kUser : llm::Role::kAssistant, content});
    } else {
      bad(field + ".role", "'" + field + ".role' must be system, user or assistant.");
    }
  }
  if (history.empty() || history.back().role != llm::Role::kUser || history.back().content.empty()) {
    bad("input.messages", "The last message of 'input.messages' must be a non-empty user message.");
  }
  turn.message = history.back().content;
  history.pop_back();
  turn.client_history = std::move(history);
}

}  // namespace

Json ChatResultJson(const agent::TurnResult& r) {
  return Json{{"reply", r.reply},
              {"conversationId", r.conversation_id},
              {"messageId", r.message_id},
              {"confidence", r.confidence},
              {"sources", agent::SourcesJson(r.sources)},
              {"usage", UsageJson(r)},
              {"status", r.status},
              {"fallback", r.fallback},
              {"model", r.model}};
}

bool WantsStream(const Request& req, const Json& body) {
  if (auto it = body.find("stream"); it != body.end() && !it->is_null()) {
    if (!it->is_boolean()) throw ValidationFailed("'stream' must be a boolean.", {{"stream", "is not valid"}});
    if (it->get<bool>()) return true;
    return false;
  }
  return req.Header("accept").value_or("").find("text/event-stream") != std::string_view::npos;
}

void ParseChatFields(const Json& body, agent::TurnRequest& turn) {
  turn.message = RequiredString(body, "message", kMaxMessageBytes);
  if (auto id = OptionalString(body, "conversationId", 64)) turn.conversation_id = *id;
  if (auto it = body.find("context"); it != body.end() && !it->is_null()) {
    if (!it->is_object() || it->dump().size() > kMaxContextBytes) {
      throw ValidationFailed("'context' must be an object of at most 4096 bytes as JSON.", {{"context", "is not valid"}});
    }
    turn.context = *it;
  }
}

void AnswerChat(ApiContext& ctx, http::SseStream& stream, const agent::TurnRequest& turn, bool stream_requested) {
  if (!stream_requested) {
    stream.Respond(Response::MakeJson(200, ChatResultJson(ctx.agent->Turn(turn))));
    return;
  }
  // Shared with the callback: the server may run it after this handler has returned.
  auto cancel = std::make_shared<llm::CancellationToken>();
  stream.OnCancel([cancel] { cancel->Cancel(); });
  auto on_token = [&stream](std::string_view delta) {
    return stream.Send("token", Json{{"delta", delta}}.dump()) ? llm::StreamAction::kContinue : llm::StreamAction::kStop;
  };
  agent::TurnResult r = ctx.agent->Turn(turn, on_token, cancel.get());
  stream.Send("sources", Json{{"sources", agent::SourcesJson(r.sources)}}.dump());
  stream.Send("done", Json{{"messageId", r.message_id},
                           {"conversationId", r.conversation_id},
                           {"usage", UsageJson(r)},
                           {"confidence", r.confidence},
                           {"status", r.status},
                           {"fallback", r.fallback},
                           {"model", r.model}}
                          .dump());
}

void AddAgentRoutes(http::Router& router, ApiContext& ctx) {
  AddGuarded(router, ctx, "GET", "/api/v1/agents/customer-service/config", [&ctx](Request&, const Caller& caller) {
    return Response::MakeJson(200, agent::ToJson(ctx.agent->Config(caller.Get().workspace_id)));
  });

  AddGuarded(router, ctx, "PUT", "/api/v1/agents/customer-service/config", [&ctx](Request& req, const Caller& caller) {
    Json body = ObjectBody(req);
    CheckBodyWorkspace(body, caller.Get().workspace_id);
    body.erase("workspaceId");
    return Response::MakeJson(200, agent::ToJson(ctx.agent->UpdateConfig(caller.Get().workspace_id, body)));
  });

  AddGuardedSse(router, ctx, "POST", "/api/v1/agents/customer-service/chat",
                [&ctx](Request& req, const Caller& caller, http::SseStream& stream) {
                  Json body = ObjectBody(req);
                  RejectUnknownFields(body, {"message", "conversationId", "context", "stream", "workspaceId"});
                  CheckBodyWorkspace(body, caller.Get().workspace_id);
                  agent::TurnRequest turn = TurnOf(caller, "api");
                  ParseChatFields(body, turn);
                  AnswerChat(ctx, stream, turn, WantsStream(req, body));
                });

  AddGuardedSse(router, ctx, "POST", "/api/v1/agents/customer-service/run",
                [&ctx](Request& req, const Caller& caller, http::SseStream& stream) {
                  Json body = ObjectBody(req);
                  RejectUnknownFields(body, {"message", "input", "conversationId", "context", "stream", "workspaceId"});
                  CheckBodyWorkspace(body, caller.Get().workspace_id);
                  agent::TurnRequest turn = TurnOf(caller, "api");
                  const bool has_input = body.contains("input") && !body["input"].is_null();
                  if (has_input == body.contains("message")) {
                    throw ValidationFailed("Send either 'message' or 'input.messages'.", {{"message", "is required"}});
                  }
                  if (has_input) {
                    if (body.contains("conversationId")) {
                      throw ValidationFailed("'conversationId' continues stored history; with 'input.messages' the "
                                             "client sends the history itself. Send one or the other.",
                                             {{"conversationId", "not allowed with input"}});
                    }
                    ParseInputMessages(body["input"], turn);
                    Json rest = body;
                    rest.erase("input");
                    rest["message"] = turn.message;
                    agent::TurnRequest parsed = turn;
                    ParseChatFields(rest, parsed);  // validates context
                    turn.context = parsed.context;
                  } else {
                    ParseChatFields(body, turn);
                  }
                  if (WantsStream(req, body)) {
                    AnswerChat(ctx, stream, turn, true);
                    return;
                  }
                  agent::TurnResult r = ctx.agent->Turn(turn);
                  Json out = ChatResultJson(r);
                  out["runId"] = r.message_id;
                  out["status"] = r.status == "complete" ? "completed" : r.status;
                  stream.Respond(Response::MakeJson(200, out));
                });
}

}  // namespace studio::api::v1
