#include "llm/openai_wire.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <utility>

namespace studio::llm::detail {
namespace {

using Json = nlohmann::json;

std::string Redacted(std::string text, const std::string& api_key) {
  if (api_key.empty()) return text;
  for (auto at = text.find(api_key); at != std::string::npos; at = text.find(api_key)) {
    text.replace(at, api_key.size(), "[redacted]");
  }
  return text;
}

void ReadUsage(const Json& j, Usage& usage) {
  if (!j.contains("usage") || !j["usage"].is_object()) return;
  const Json& u = j["usage"];
  if (u.contains("prompt_tokens") && u["prompt_tokens"].is_number_integer()) {
    usage.prompt_tokens = u["prompt_tokens"].get<int>();
    usage.reported = true;
  }
  if (u.contains("completion_tokens") && u["completion_tokens"].is_number_integer()) {
    usage.completion_tokens = u["completion_tokens"].get<int>();
    usage.reported = true;
  }
}

void ReadModel(const Json& j, ChatResponse& out) {
  if (j.contains("model") && j["model"].is_string() && !j["model"].get_ref<const std::string&>().empty()) {
    out.model = j["model"].get<std::string>();
  }
}

}  // namespace

// The server's own error message ({"error":{"message":…}}), shortened, with the key cut out in
// case a server echoes it. Never used for 401/403: OpenAI's 401 body quotes part of the key.
std::string ServerMessage(const Json& body, const std::string& api_key) {
  if (!body.is_object() || !body.contains("error")) return {};
  const Json& e = body["error"];
  std::string message;
  if (e.is_string()) message = e.get<std::string>();  // some servers send {"error": "text"}
  if (e.is_object() && e.contains("message") && e["message"].is_string()) message = e["message"].get<std::string>();
  if (message.size() > 300) message = message.substr(0, 300) + "…";
  return Redacted(std::move(message), api_key);
}

bool IsInsufficientQuota(const Json& body) {
  return body.is_object() && body.contains("error") && body["error"].is_object() && body["error"].contains("code") &&
         body["error"]["code"] == "insufficient_quota";
}

// A non-streamed completion: {"choices":[{"message":{"content":…},"finish_reason":…}],"usage":…}.
bool ReadCompletion(const Json& j, ChatResponse& out) {
  if (!j.is_object() || !j.contains("choices") || !j["choices"].is_array() || j["choices"].empty()) return false;
  const Json& choice = j["choices"][0];
  if (!choice.is_object() || !choice.contains("message") || !choice["message"].is_object()) return false;
  const Json& message = choice["message"];
  if (message.contains("content") && message["content"].is_string()) {
    out.content = message["content"].get<std::string>();
  } else if (message.contains("refusal") && message["refusal"].is_string()) {
    out.content = message["refusal"].get<std::string>();  // a safety refusal is the answer the user gets
  }
  if (choice.contains("finish_reason") && choice["finish_reason"].is_string()) {
    out.finish_reason = choice["finish_reason"].get<std::string>();
  }
  ReadModel(j, out);
  ReadUsage(j, out.usage);
  return true;
}

// One chunk of a stream: records model, usage and finish_reason; returns the content delta.
std::string ReadChunk(const Json& j, ChatResponse& out) {
  ReadModel(j, out);
  ReadUsage(j, out.usage);
  if (!j.contains("choices") || !j["choices"].is_array() || j["choices"].empty()) return {};
  const Json& choice = j["choices"][0];
  if (!choice.is_object()) return {};
  if (choice.contains("finish_reason") && choice["finish_reason"].is_string()) {
    out.finish_reason = choice["finish_reason"].get<std::string>();
  }
  if (choice.contains("delta") && choice["delta"].is_object() && choice["delta"].contains("content") &&
      choice["delta"]["content"].is_string()) {
    return choice["delta"]["content"].get<std::string>();
  }
  return {};
}

bool IsEventStream(std::string_view content_type) {
  constexpr std::string_view kType = "text/event-stream";
  if (content_type.size() < kType.size()) return false;
  return std::equal(kType.begin(), kType.end(), content_type.begin(),
                    [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); });
}

// See OpenAIChatOptions::base_url for the rules.
Endpoint ParseBaseUrl(const std::string& base_url) {
  std::string base = base_url;
  std::string query;
  if (const auto q = base.find('?'); q != std::string::npos) {
    query = base.substr(q);
    base.resize(q);
  }
  if (base_url.find_first_of("# \r\n\t") != std::string::npos) {
    throw std::invalid_argument("the LLM base URL must not have a fragment or spaces");
  }
  while (!base.empty() && base.back() == '/') base.pop_back();
  const auto scheme_end = base.find("://");
  if (!base.starts_with("http://") && !base.starts_with("https://")) {
    throw std::invalid_argument("the LLM base URL must start with http:// or https://");
  }
  const auto host_begin = scheme_end + 3;
  const auto host_end = base.find_first_of(":/", host_begin);
  std::string host = base.substr(host_begin, host_end == std::string::npos ? std::string::npos : host_end - host_begin);
  std::transform(host.begin(), host.end(), host.begin(), [](unsigned char c) { return std::tolower(c); });
  if (host.empty()) throw std::invalid_argument("the LLM base URL has no host");
  const bool has_v1 = base.ends_with("/v1");
  const bool deployment = base.find("/deployments/") != std::string::npos;
  Endpoint e;
  e.url = base + (has_v1 || deployment ? "/chat/completions" : "/v1/chat/completions") + query;
  e.azure = host.ends_with(".azure.com");
  return e;
}

std::string ChatRequestBody(const ChatRequest& request, const std::string& model, bool stream_usage) {
  Json j = {{"model", model}};
  Json& messages = j["messages"] = Json::array();
  for (const Message& m : MessagesWithContext(request)) {
    messages.push_back({{"role", RoleName(m.role)}, {"content", m.content}});
  }
  if (request.temperature) j["temperature"] = *request.temperature;
  if (request.max_tokens) j["max_tokens"] = *request.max_tokens;
  if (!request.stop.empty()) j["stop"] = request.stop;
  if (request.stream) {
    j["stream"] = true;
    if (stream_usage) j["stream_options"] = {{"include_usage", true}};
  }
  // Invalid UTF-8 would make dump() throw; U+FFFD is what the model would make of it anyway.
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace studio::llm::detail
