#include "agent/agent_config.hpp"

#include <array>
#include <functional>
#include <optional>
#include <vector>

#include "core/error.hpp"

namespace studio::agent {
namespace {

constexpr std::string_view kDefaultSystemPrompt =
    "You are the customer-service assistant of this company. Answer the customer's question using only the "
    "context passages you are given. If the passages do not contain the answer, say plainly that you do not "
    "know and suggest contacting support; never invent facts, prices, policies or links.";

constexpr std::string_view kDefaultFallback =
    "I'm sorry, I couldn't find anything about that in our documentation. Could you rephrase your question, "
    "or contact our support team?";

template <class E>
struct Named {
  std::string_view name;
  E value;
};
constexpr std::array<Named<Persona>, 3> kPersonas{
    {{"professional", Persona::kProfessional}, {"friendly", Persona::kFriendly}, {"technical", Persona::kTechnical}}};
constexpr std::array<Named<ResponseLength>, 3> kLengths{
    {{"short", ResponseLength::kShort}, {"medium", ResponseLength::kMedium}, {"long", ResponseLength::kLong}}};
constexpr std::array<Named<FallbackMode>, 2> kFallbacks{
    {{"message", FallbackMode::kMessage}, {"model", FallbackMode::kModel}}};

// Applies one field to `c`; returns an error message when the value is not acceptable.
using Apply = std::function<std::optional<std::string>(AgentConfig& c, const Json& v)>;

Apply Text(std::string AgentConfig::*field, std::size_t max_chars, bool allow_empty) {
  return [field, max_chars, allow_empty](AgentConfig& c, const Json& v) -> std::optional<std::string> {
    if (!v.is_string()) return "must be a string";
    const auto& s = v.get_ref<const std::string&>();
    if (!allow_empty && s.empty()) return "must not be empty";
    if (s.size() > max_chars) return "must be at most " + std::to_string(max_chars) + " bytes";
    c.*field = s;
    return std::nullopt;
  };
}

Apply Int(int AgentConfig::*field, int lo, int hi) {
  return [field, lo, hi](AgentConfig& c, const Json& v) -> std::optional<std::string> {
    if (!v.is_number_integer() || v.get<long long>() < lo || v.get<long long>() > hi) {
      return "must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi);
    }
    c.*field = v.get<int>();
    return std::nullopt;
  };
}

Apply Real(double AgentConfig::*field, double lo, double hi) {
  return [field, lo, hi](AgentConfig& c, const Json& v) -> std::optional<std::string> {
    if (!v.is_number() || v.get<double>() < lo || v.get<double>() > hi) {
      Json range = Json::array({lo, hi});
      return "must be a number from " + range[0].dump() + " to " + range[1].dump();
    }
    c.*field = v.get<double>();
    return std::nullopt;
  };
}

template <class E, std::size_t N>
Apply Choice(E AgentConfig::*field, const std::array<Named<E>, N>& names) {
  return [field, &names](AgentConfig& c, const Json& v) -> std::optional<std::string> {
    std::string allowed;
    for (const auto& n : names) {
      if (v.is_string() && v.get_ref<const std::string&>() == n.name) {
        c.*field = n.value;
        return std::nullopt;
      }
      allowed += (allowed.empty() ? "" : ", ") + std::string(n.name);
    }
    return "must be one of " + allowed;
  };
}

struct Field {
  std::string_view name;
  Apply apply;
};

const std::vector<Field>& Fields() {
  static const std::vector<Field> fields{
      {"systemPrompt", Text(&AgentConfig::system_prompt, 8000, false)},
      {"persona", Choice(&AgentConfig::persona, kPersonas)},
      {"temperature", Real(&AgentConfig::temperature, 0, 2)},
      {"maxTokens", Int(&AgentConfig::max_tokens, 16, 16384)},
      {"responseLength", Choice(&AgentConfig::response_length, kLengths)},
      {"customInstructions", Text(&AgentConfig::custom_instructions, 4000, true)},
      {"scoreThreshold", Real(&AgentConfig::score_threshold, 0, 1)},
      {"topK", Int(&AgentConfig::top_k, 1, 20)},
      {"contextBudget", Int(&AgentConfig::context_budget, 1024, 128000)},
      {"memoryWindow", Int(&AgentConfig::memory_window, 0, 100)},
      {"sessionTimeoutMinutes", Int(&AgentConfig::session_timeout_minutes, 1, 10080)},
      {"fallbackMode", Choice(&AgentConfig::fallback_mode, kFallbacks)},
      {"fallbackMessage", Text(&AgentConfig::fallback_message, 2000, false)},
  };
  return fields;
}

const Field* FindField(std::string_view name) {
  for (const auto& f : Fields()) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

template <class E, std::size_t N>
std::string_view NameOf(const std::array<Named<E>, N>& names, E value) {
  for (const auto& n : names) {
    if (n.value == value) return n.name;
  }
  return names[0].name;
}

}  // namespace

std::string_view PersonaName(Persona p) { return NameOf(kPersonas, p); }
std::string_view ResponseLengthName(ResponseLength l) { return NameOf(kLengths, l); }
std::string_view FallbackModeName(FallbackMode m) { return NameOf(kFallbacks, m); }

AgentConfig Defaults() {
  AgentConfig c;
  c.system_prompt = kDefaultSystemPrompt;
  c.fallback_message = kDefaultFallback;
  return c;
}

AgentConfig FromStored(const Json& stored) {
  AgentConfig c = Defaults();
  if (!stored.is_object()) return c;
  for (const auto& [key, value] : stored.items()) {
    const Field* f = FindField(key);
    if (f == nullptr) continue;
    AgentConfig candidate = c;
    if (!f->apply(candidate, value)) c = std::move(candidate);
  }
  return c;
}

Json MergeUpdate(const Json& stored, const Json& body) {
  if (!body.is_object()) throw BadRequest("The body must be a JSON object of settings.", {}, "INVALID_BODY");
  std::vector<FieldError> unknown;
  std::vector<FieldError> invalid;
  Json merged = stored.is_object() ? stored : Json::object();
  AgentConfig scratch = Defaults();
  for (const auto& [key, value] : body.items()) {
    const Field* f = FindField(key);
    if (f == nullptr) {
      unknown.push_back({key, "unknown field"});
    } else if (value.is_null()) {
      merged.erase(key);
    } else if (auto problem = f->apply(scratch, value)) {
      invalid.push_back({key, *problem});
    } else {
      merged[key] = value;
    }
  }
  if (!unknown.empty()) {
    std::string detail = "Unknown field '" + unknown.front().field + "'.";
    throw BadRequest(std::move(detail), std::move(unknown), "UNKNOWN_FIELDS");
  }
  if (!invalid.empty()) {
    std::string detail = "'" + invalid.front().field + "' " + invalid.front().message + ".";
    throw ValidationFailed(std::move(detail), std::move(invalid));
  }
  return merged;
}

Json ToJson(const AgentConfig& c) {
  return Json{{"systemPrompt", c.system_prompt},
              {"persona", PersonaName(c.persona)},
              {"temperature", c.temperature},
              {"maxTokens", c.max_tokens},
              {"responseLength", ResponseLengthName(c.response_length)},
              {"customInstructions", c.custom_instructions},
              {"scoreThreshold", c.score_threshold},
              {"topK", c.top_k},
              {"contextBudget", c.context_budget},
              {"memoryWindow", c.memory_window},
              {"sessionTimeoutMinutes", c.session_timeout_minutes},
              {"fallbackMode", FallbackModeName(c.fallback_mode)},
              {"fallbackMessage", c.fallback_message}};
}

std::string SystemMessage(const AgentConfig& c) {
  std::string out = c.system_prompt;
  switch (c.persona) {
    case Persona::kProfessional:
      out += "\n\nTone: professional and courteous. Be precise and to the point; no slang, no emoji.";
      break;
    case Persona::kFriendly:
      out += "\n\nTone: warm and friendly. Use plain, conversational words and acknowledge the customer's "
             "situation before answering.";
      break;
    case Persona::kTechnical:
      out += "\n\nTone: technical. Give exact details (settings, commands, versions, limits) as numbered steps, "
             "and put commands and code in code blocks.";
      break;
  }
  switch (c.response_length) {
    case ResponseLength::kShort:
      out += "\nLength: answer in one to three sentences.";
      break;
    case ResponseLength::kMedium:
      out += "\nLength: answer in a short paragraph, or a few steps when the task has steps.";
      break;
    case ResponseLength::kLong:
      out += "\nLength: answer thoroughly, covering every relevant detail in the passages.";
      break;
  }
  if (!c.custom_instructions.empty()) out += "\n\nInstructions from the company:\n" + c.custom_instructions;
  out += "\n\nCite each passage you use as [n] right after the sentence that uses it, with the passage's own "
         "number. Cite only passages you were given; do not list sources at the end.";
  return out;
}

}  // namespace studio::agent
