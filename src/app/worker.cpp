#include <pthread.h>

#include <csignal>
#include <memory>
#include <thread>

#include "app/commands.hpp"
#include "app/database.hpp"
#include "app/knowledge_base.hpp"
#include "obs/log.hpp"
#include "store/db.hpp"

namespace studio::app {

int RunWorker(const Config& c) {
  // Block the stop signals before any thread starts, so every thread inherits the mask and
  // sigwait below is the only place they are delivered.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  std::unique_ptr<store::Db> db;
  std::unique_ptr<KnowledgeBase> kb;
  try {
    db = OpenAndMigrate(c, true);
    kb = std::make_unique<KnowledgeBase>(c, *db);
  } catch (const std::exception& e) {
    obs::LogError("cannot start the worker", {{"error", e.what()}});
    return 1;
  }
  const int threads = c.workers > 0 ? c.workers : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  kb->Start(threads);
  obs::LogInfo("worker started", {{"threads", threads},
                                  {"database", store::RedactUrl(c.EffectiveDatabaseUrl())},
                                  {"embedder", std::string(kb->embedder().name())}});
  int signal = 0;
  sigwait(&stop_signals, &signal);
  obs::LogInfo("worker stopping", {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"}});
  kb->Stop(c.shutdown_grace);
  db->Close();
  obs::LogInfo("worker stopped");
  return 0;
}

}  // namespace studio::app
