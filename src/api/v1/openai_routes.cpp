#include "api/v1/openai_routes.hpp"

#include <chrono>
#include <memory>

#include "agent/agent.hpp"
#include "core/clock.hpp"
#include "core/json.hpp"
#include "http/sse.hpp"
#include "llm/chat_model.hpp"

namespace studio::api::v1 {
namespace {

using http::Request;
using http::Response;

constexpr std::size_t kMaxMessages = 200;
constexpr std::size_t kMaxContentBytes = 10'000;

std::string_view TypeOf(int status) {
  switch (status) {
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 429: return "rate_limit_error";
    default: return status >= 500 ? "api_error" : "invalid_request_error";
  }
}

[[noreturn]] void Invalid(const std::string& param, const std::string& message) {
  throw ValidationFailed(message, {{param, "is not valid"}});
}

// The text of a message's content: a string, or OpenAI's array of parts ({type:"text", text}).
std::string ContentOf(const Json& content, const std::string& param) {
  if (content.is_string()) return content.get<std::string>();
  if (content.is_null()) return {};
  if (!content.is_array()) Invalid(param, "'" + param + "' must be a string or an array of text parts.");
  std::string out;
  for (const auto& part : content) {
    if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") || !part["text"].is_string()) {
      Invalid(param, "Only text content parts are supported.");
    }
    if (!out.empty()) out += '\n';
    out += part["text"].get_ref<const std::string&>();
  }
  return out;
}

agent::TurnRequest TurnOf(const Caller& caller, const Json& body) {
  agent::TurnRequest turn;
  turn.workspace_id = caller.Get().workspace_id;
  turn.channel = "openai";
  if (!caller.Get().user_id.empty()) turn.user_id = caller.Get().user_id;
  const Json model = body.value("model", Json());
  if (!model.is_string() || model.get<std::string>().empty()) Invalid("model", "'model' is required: the agent's name.");
  if (model.get<std::string>() != agent::kCustomerService) {
    throw NotFound("The model '" + model.get<std::string>() + "' does not exist; GET /v1/models lists the agents.",
                   "model_not_found");
  }
  if (body.contains("n") && !body["n"].is_null() && body["n"] != 1) Invalid("n", "Only n = 1 is supported.");
  const Json& messages = body.value("messages", Json());
  if (!messages.is_array() || messages.empty() || messages.size() > kMaxMessages) {
    Invalid("messages", "'messages' must be an array of 1 to 200 messages.");
  }
  std::vector<llm::Message> history;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const std::string param = "messages[" + std::to_string(i) + "]";
    const Json& m = messages[i];
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string()) Invalid(param, "'" + param + "' needs a role.");
    const std::string role = m["role"].get<std::string>();
    std::string content = ContentOf(m.value("content", Json()), param + ".content");
    if (content.size() > kMaxContentBytes) Invalid(param + ".content", "'" + param + ".content' is longer than 10000 bytes.");
    if (role == "system" || role == "developer") {
      turn.client_instructions.push_back(std::move(content));
    } else if (role == "user" || role == "assistant") {
      history.push_back({role == "user" ? llm::Role::kUser : llm::Role::kAssistant, std::move(content)});
    } else {
      Invalid(param + ".role", "'" + param + ".role' must be system, developer, user or assistant.");
    }
  }
  if (history.empty() || history.back().role != llm::Role::kUser || history.back().content.empty()) {
    Invalid("messages", "The last message must be a non-empty user message.");
  }
  turn.message = std::move(history.back().content);
  history.pop_back();
  turn.client_history = std::move(history);
  return turn;
}

Json UsageJson(const llm::Usage& u) {
  return Json{{"prompt_tokens", u.prompt_tokens}, {"completion_tokens", u.completion_tokens}, {"total_tokens", u.total_tokens()}};
}

std::string FinishReasonOf(const agent::TurnResult& r) {
  return r.finish_reason == "length" ? "length" : "stop";
}

}  // namespace

Response OpenAiErrorResponse(const Error& e) {
  Json param = e.errors().empty() ? Json(nullptr) : Json(e.errors().front().field);
  std::string code = e.code();
  for (auto& c : code) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  Response res = Response::MakeJson(
      e.status(), Json{{"error", {{"message", e.detail()}, {"type", TypeOf(e.status())}, {"param", param}, {"code", code}}}});
  for (const auto& [k, v] : e.headers()) res.headers.emplace_back(k, v);
  return res;
}

void AddOpenAiRoutes(http::Router& router, ApiContext& ctx) {

  AddGuarded(
      router, ctx, "GET", "/v1/models",
      [](Request&, const Caller&) {
        Json model{{"id", agent::kCustomerService}, {"object", "model"}, {"created", 0}, {"owned_by", "studio"}};
        return Response::MakeJson(200, Json{{"object", "list"}, {"data", Json::array({model})}});
      },
      {}, OpenAiErrorResponse);

  AddGuardedSse(
      router, ctx, "POST", "/v1/chat/completions",
      [&ctx](Request& req, const Caller& caller, http::SseStream& stream) {
        const Json body = req.JsonBody();
        if (!body.is_object()) throw BadRequest("The body must be a JSON object.", {}, "invalid_body");
        agent::TurnRequest turn = TurnOf(caller, body);
        Json stream_flag = body.value("stream", Json(false));
        if (stream_flag.is_null()) stream_flag = false;  // OpenAI accepts null as "not sent"
        if (!stream_flag.is_boolean()) Invalid("stream", "'stream' must be a boolean.");
        // Checked before the turn runs: a bad option must not surface after the answer was stored.
        bool include_usage = false;
        const Json stream_options = body.value("stream_options", Json());
        if (!stream_options.is_null()) {
          const Json flag = stream_options.is_object() ? stream_options.value("include_usage", Json()) : Json("bad");
          if (!flag.is_null() && !flag.is_boolean()) {
            Invalid("stream_options.include_usage", "'stream_options.include_usage' must be a boolean.");
          }
          include_usage = flag.is_boolean() && flag.get<bool>();
        }
        const std::int64_t created = UnixSeconds();

        if (!stream_flag.get<bool>()) {
          agent::TurnResult r = ctx.agent->Turn(turn);
          Json message{{"role", "assistant"}, {"content", r.reply}};
          stream.Respond(Response::MakeJson(
              200, Json{{"id", "chatcmpl-" + r.message_id},
                        {"object", "chat.completion"},
                        {"created", created},
                        {"model", agent::kCustomerService},
                        {"choices", Json::array({Json{{"index", 0}, {"message", message}, {"finish_reason", FinishReasonOf(r)}}})},
                        {"usage", UsageJson(r.usage)},
                        {"sources", agent::SourcesJson(r.sources)},
                        {"conversation_id", r.conversation_id}}));
          return;
        }

        // Chunks share one id; the message id is only known at the end, so the id is made up front.
        const std::string id = "chatcmpl-" + std::to_string(created) + "-" + req.request_id;
        auto chunk = [&](Json delta, Json finish) {
          return Json{{"id", id},
                      {"object", "chat.completion.chunk"},
                      {"created", created},
                      {"model", agent::kCustomerService},
                      {"choices", Json::array({Json{{"index", 0}, {"delta", std::move(delta)}, {"finish_reason", std::move(finish)}}})}}
              .dump();
        };
        // Shared with the callback: the server may run it after this handler has returned.
        auto cancel = std::make_shared<llm::CancellationToken>();
        stream.OnCancel([cancel] { cancel->Cancel(); });
        bool first = true;
        auto on_token = [&](std::string_view delta) {
          Json d{{"content", delta}};
          if (first) d["role"] = "assistant";
          first = false;
          return stream.Send("", chunk(std::move(d), nullptr)) ? llm::StreamAction::kContinue : llm::StreamAction::kStop;
        };
        agent::TurnResult r = ctx.agent->Turn(turn, on_token, cancel.get());
        if (first) stream.Send("", chunk(Json{{"role", "assistant"}, {"content", ""}}, nullptr));
        Json last = Json::parse(chunk(Json::object(), FinishReasonOf(r)));
        last["sources"] = agent::SourcesJson(r.sources);
        stream.Send("", last.dump());
        if (include_usage) {
          Json usage = Json::parse(chunk(Json::object(), nullptr));
          usage["choices"] = Json::array();
          usage["usage"] = UsageJson(r.usage);
          stream.Send("", usage.dump());
        }
        stream.Send("", "[DONE]");
      },
      {}, OpenAiErrorResponse);
}

}  // namespace studio::api::v1
