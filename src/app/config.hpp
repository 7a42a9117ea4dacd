#pragma once
// Settings for `studio serve` / `studio migrate`, layered: built-in defaults < TOML file
// (--config / STUDIO_CONFIG) < environment variables < command-line flags. Every value is
// validated at startup; a bad one produces one line naming the setting, and `studio` exits 2.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace studio::app {

struct Config {
  std::string listen_host = "127.0.0.1";
  std::uint16_t listen_port = 8080;
  std::string data_dir = "./data";
  std::string database_url;  // empty → sqlite:<data_dir>/studio.db
  int io_threads = 0;        // 0 = one per core
  int blocking_threads = 0;  // 0 = 2 × cores, at least 4
  std::size_t blocking_queue = 1024;
  std::size_t max_connections = 10'000;
  std::size_t max_body_bytes = std::size_t{1024} * 1024;
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds shutdown_grace{30'000};
  std::vector<std::string> cors_origins;
  int hsts_max_age = 0;
  std::string operator_key;  // secret: never logged
  std::string log_level = "info";
  bool access_log = true;
  int db_pool_size = 8;
  std::chrono::milliseconds db_statement_timeout{5000};
  bool test_routes = false;
  std::string jwt_secret;  // secret: never logged; empty → generated in the data dir (embedded only)
  std::vector<std::string> trusted_proxies;  // IPs/CIDRs whose X-Forwarded-For is believed
  std::chrono::milliseconds lockout_duration{15 * 60 * 1000};
  std::chrono::milliseconds invitation_ttl{std::chrono::hours(24 * 7)};
  std::uint32_t rate_limit_per_ip = 1200;         // per minute; 0 = off
  std::uint32_t rate_limit_per_workspace = 6000;  // per minute; 0 = off
  bool rate_limit_endpoints = true;

  // Knowledge base.
  std::size_t max_upload_bytes = std::size_t{50} * 1024 * 1024;  // per uploaded document → 413
  int workers = -1;           // ingestion worker threads in this process; -1 = one per core, 0 = none
  int job_max_attempts = 5;   // runs of a job before it goes to the dead-letter queue
  std::chrono::milliseconds job_retention{std::chrono::hours(24 * 7)};  // finished jobs kept this long
  std::chrono::milliseconds job_lease{60'000};  // a dead worker's job is taken over after this
  std::string embedder;       // "local" | "openai"; empty → openai when OPENAI_API_KEY is set, else local
  std::string models_dir;     // empty → scripts/fetch-models.sh's cache (search::DefaultModelsDir)
  std::string openai_api_key;  // secret: never logged
  std::string openai_base_url = "https://api.openai.com";
  std::string embedding_model = "text-embedding-3-small";
  std::string chunk_strategy = "paragraph";  // fixed | paragraph | semantic
  int chunk_tokens = 1000;
  int chunk_overlap = 200;
  double search_threshold = -2;  // below -1 = none: every hit counts, however weak
  double hybrid_vector_weight = -1;  // < 0 = by embedder: 0.25 local (measured), 1 openai

  // The agent.
  std::string chat_provider = "auto";  // auto | openai | extractive
  std::string chat_model = "gpt-4o-mini";
  std::chrono::milliseconds llm_timeout{120'000};
  std::map<std::string, std::int64_t, std::less<>> agent_quota;  // monthly messages by plan; absent = unlimited

  /// DATABASE_URL with the embedded default filled in.
  std::string EffectiveDatabaseUrl() const;
};

/// One setting as the user sees it: its TOML key, flag and environment variable.
struct SettingSpec {
  const char* key;   // TOML key and the name in messages
  const char* flag;  // "--listen"
  const char* env;   // "STUDIO_LISTEN"
  const char* help;
};

/// Every setting, in the order `--help` lists them.
const std::vector<SettingSpec>& Settings();

/// A rejected setting: what() is the one line to print.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Raw values by TOML key, already layered (flags over env over file). Missing keys keep defaults.
using RawSettings = std::map<std::string, std::string>;

/// Reads a TOML file into raw values (tables flattened as "table.key"); throws ConfigError.
RawSettings ReadTomlFile(const std::string& path);

/// Validates and converts; throws ConfigError naming the first bad setting.
Config BuildConfig(const RawSettings& raw);

/// Parsers shared with tests: "30s", "500ms", "2m", or a bare number of seconds.
std::chrono::milliseconds ParseDuration(const std::string& text);
/// "1048576", "512KiB", "1MiB", "1MB".
std::size_t ParseSize(const std::string& text);

}  // namespace studio::app
