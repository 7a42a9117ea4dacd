#include "llm/chat_model.hpp"

#include <set>
#include <stdexcept>

namespace studio::llm {

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kSystem: return "system";
    case Role::kUser: return "user";
    case Role::kAssistant: return "assistant";
  }
  return "user";
}

void CancellationToken::Cancel() {
  {
    // Under the lock, so a WaitFor between its check and its wait cannot miss the notification.
    std::lock_guard lock(mu_);
    cancelled_.store(true, std::memory_order_release);
  }
  cv_.notify_all();
}

bool CancellationToken::WaitFor(std::chrono::milliseconds d) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, d, [this] { return cancelled_.load(std::memory_order_acquire); });
}

std::string FormatContext(std::span<const ContextPassage> passages) {
  if (passages.empty()) return {};
  std::string out = "Context passages (cite a passage you use as [n], only these numbers):";
  for (const ContextPassage& p : passages) {
    out += "\n\n[" + std::to_string(p.n) + "]";
    if (!p.title.empty()) out += " " + p.title;
    out += "\n" + p.text;
  }
  return out;
}

std::vector<Message> MessagesWithContext(const ChatRequest& request) {
  std::vector<Message> out = request.messages;
  if (request.context.empty()) return out;
  std::size_t at = 0;
  while (at < out.size() && out[at].role == Role::kSystem) ++at;
  out.insert(out.begin() + static_cast<std::ptrdiff_t>(at), Message{Role::kSystem, FormatContext(request.context)});
  return out;
}

void ValidateRequest(const ChatRequest& request) {
  if (request.messages.empty()) throw std::invalid_argument("a chat request needs at least one message");
  std::set<int> seen;
  for (const ContextPassage& p : request.context) {
    if (p.n <= 0 || !seen.insert(p.n).second) {
      throw std::invalid_argument("context passage numbers must be positive and unique (got " + std::to_string(p.n) +
                                  ")");
    }
  }
}

}  // namespace studio::llm
