// `studio chat --workspace W`: the workspace's customer-service agent in the terminal, straight
// through the database like `studio ingest` (no server needed; a running one may share the data).
// One conversation per run (channel "cli"): each line of stdin is a question, each answer is
// streamed to stdout as the model produces it, followed by its sources. `--message` answers one
// question and exits; `--json` prints each turn as one JSON line (the API's chat shape) instead.
// Log lines go to stderr here, so stdout carries only the conversation.

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/agent.hpp"
#include "api/v1/agent_routes.hpp"
#include "app/agent_setup.hpp"
#include "app/cli_support.hpp"
#include "app/commands.hpp"
#include "app/database.hpp"
#include "app/knowledge_base.hpp"
#include "core/json.hpp"
#include "obs/log.hpp"

namespace studio::app {
namespace {

constexpr const char* kCmd = "chat";
// The same limit as a message sent to the HTTP API.
constexpr std::size_t kMaxMessageBytes = 10'000;

void WriteAll(int fd, std::string_view s) {
  while (!s.empty()) {
    const ssize_t n = ::write(fd, s.data(), s.size());
    if (n <= 0) return;
    s.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::string Trim(std::string_view s) {
  const auto begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return {};
  const auto end = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(begin, end - begin + 1));
}

// Why the question cannot be asked (empty = it can). Stored messages must be valid UTF-8: the API
// serves them as JSON.
std::string Refusal(const std::string& question) {
  if (question.size() > kMaxMessageBytes) {
    return "the question is longer than " + std::to_string(kMaxMessageBytes) + " bytes";
  }
  try {
    (void)Json(question).dump();
  } catch (const Json::exception&) {
    return "the question is not valid UTF-8";
  }
  return {};
}

void PrintSources(const std::vector<agent::Source>& sources) {
  if (sources.empty()) return;
  std::printf("\nSources:\n");
  for (const auto& s : sources) {
    std::printf("[%d] %s", s.n, s.title.c_str());
    if (s.url) std::printf(" — %s", s.url->c_str());
    std::printf(" (score %.3f)\n", s.score);
  }
}

class Session {
 public:
  Session(agent::AgentService& agent, std::string workspace_id, bool json)
      : agent_(agent), workspace_id_(std::move(workspace_id)), json_(json) {}

  /// Answers one question; false (with the reason on stderr) when the turn failed.
  bool Ask(const std::string& question) {
    if (const std::string refusal = Refusal(question); !refusal.empty()) {
      Fail(kCmd, refusal, kRuntimeFailure);
      return false;
    }
    agent::TurnRequest turn;
    turn.workspace_id = workspace_id_;
    turn.channel = "cli";
    turn.conversation_id = conversation_id_;
    turn.message = question;
    std::string streamed;
    try {
      if (json_) {
        const agent::TurnResult r = agent_.Turn(turn);
        conversation_id_ = r.conversation_id;
        std::printf("%s\n", api::v1::ChatResultJson(r).dump().c_str());
        std::fflush(stdout);
        return true;
      }
      auto on_token = [&streamed](std::string_view delta) {
        streamed.append(delta);
        std::fwrite(delta.data(), 1, delta.size(), stdout);
        std::fflush(stdout);
        return llm::StreamAction::kContinue;
      };
      const agent::TurnResult r = agent_.Turn(turn, on_token);
      conversation_id_ = r.conversation_id;
      if (streamed.empty()) std::fwrite(r.reply.data(), 1, r.reply.size(), stdout);  // a model that did not stream
      const std::string_view shown = streamed.empty() ? std::string_view(r.reply) : std::string_view(streamed);
      if (shown.empty() || shown.back() != '\n') std::fputs("\n", stdout);
      PrintSources(r.sources);
      std::fflush(stdout);
      if (r.status != "complete") {
        std::fprintf(stderr, "studio chat: the answer was cut short (%s)\n", r.status.c_str());
      }
      return true;
    } catch (const Error& e) {
      EndPartialLine(streamed);
      if (e.code() == "CONVERSATION_NOT_FOUND") {
        // Deleted meanwhile (e.g. through the API): the next question starts a new one.
        conversation_id_.reset();
        Fail(kCmd, "the conversation was deleted; the next question starts a new one", kRuntimeFailure);
      } else {
        Fail(kCmd, Describe(e), kRuntimeFailure);
      }
    } catch (const std::exception& e) {
      EndPartialLine(streamed);
      Fail(kCmd, e.what(), kRuntimeFailure);
    }
    return false;
  }

 private:
  // An answer that broke off mid-stream: its line is ended before the error is reported.
  static void EndPartialLine(const std::string& streamed) {
    if (!streamed.empty() && streamed.back() != '\n') std::fputs("\n", stdout);
    std::fflush(stdout);
  }

  agent::AgentService& agent_;
  std::string workspace_id_;
  bool json_;
  std::optional<std::string> conversation_id_;  // from the first answered turn on
};

}  // namespace

int RunChat(const Config& c, const ChatRequest& r) {
  // stdout is the conversation: whatever is logged goes to stderr.
  obs::SetSinkForTesting([](std::string_view line) { WriteAll(STDERR_FILENO, line); });
  std::unique_ptr<store::Db> db;
  std::unique_ptr<KnowledgeBase> kb;
  Agent agent;
  store::WorkspaceRecord ws;
  try {
    db = OpenAndMigrate(c, false);
    try {
      ws = FindWorkspace(*db, r.workspace);
    } catch (const NotFound&) {
      return Fail(kCmd, "no workspace has the id or slug '" + r.workspace + "'", kRuntimeFailure);
    }
    kb = std::make_unique<KnowledgeBase>(c, *db);
    agent = MakeAgent(c, *db, *kb);
  } catch (const Error& e) {
    return Fail(kCmd, Describe(e), kRuntimeFailure);
  } catch (const std::exception& e) {
    return Fail(kCmd, e.what(), kRuntimeFailure);
  }

  Session session(*agent.service, ws.id, r.json);
  bool ok = true;
  if (r.one_shot) {
    const std::string question = Trim(r.message);
    if (question.empty()) {
      ok = false;
      Fail(kCmd, "--message is empty", kRuntimeFailure);
    } else {
      ok = session.Ask(question);
    }
  } else {
    const bool tty = ::isatty(STDIN_FILENO) == 1;
    // With --json, stdout holds only JSON lines: the prompt goes to stderr.
    FILE* prompt_to = r.json ? stderr : stdout;
    if (tty) {
      std::fprintf(stderr, "Chatting with the agent of %s (%s). Ctrl-D ends.\n", ws.name.c_str(), ws.slug.c_str());
    }
    std::string line;
    while (true) {
      if (tty) {
        std::fputs("> ", prompt_to);
        std::fflush(prompt_to);
      }
      if (!std::getline(std::cin, line)) break;
      const std::string question = Trim(line);
      if (question.empty()) continue;
      if (!session.Ask(question)) ok = false;
      if (tty && !r.json) std::fputs("\n", stdout);
    }
    if (tty) std::fputs("\n", prompt_to);
  }
  std::fflush(stdout);
  agent.service.reset();
  agent.model.reset();
  kb.reset();
  db->Close();
  obs::SetSinkForTesting({});
  return ok ? 0 : kRuntimeFailure;
}

}  // namespace studio::app
