#include "app/config.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <set>

#include "ratelimit/limiter.hpp"
#include "store/db.hpp"

namespace studio::app {
namespace {

std::string Trim(std::string s) {
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

const SettingSpec& Spec(const std::string& key) {
  for (const auto& s : Settings()) {
    if (key == s.key) return s;
  }
  throw std::logic_error("unknown setting " + key);
}

// "listen (--listen / STUDIO_LISTEN)" — so the user finds the knob whichever way they set it.
std::string Name(const std::string& key) {
  const SettingSpec& s = Spec(key);
  return std::string(s.key) + " (" + s.flag + " / " + s.env + ")";
}

[[noreturn]] void Bad(const std::string& key, const std::string& value, const std::string& why) {
  throw ConfigError("invalid setting " + Name(key) + ": '" + value + "' " + why);
}

long long ParseInteger(const std::string& key, const std::string& value, long long min, long long max) {
  long long n = 0;
  std::string t = Trim(value);
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
  if (t.empty() || ec != std::errc() || end != t.data() + t.size()) Bad(key, value, "is not an integer");
  if (n < min || n > max) Bad(key, value, "is out of range " + std::to_string(min) + ".." + std::to_string(max));
  return n;
}

bool ParseBool(const std::string& key, const std::string& value) {
  std::string v = Trim(value);
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v == "0" || v == "false" || v == "no" || v == "off") return false;
  Bad(key, value, "is not a boolean (true/false)");
}

std::chrono::milliseconds Duration(const std::string& key, const std::string& value, std::chrono::milliseconds min,
                                   std::chrono::milliseconds max) {
  std::chrono::milliseconds d{};
  try {
    d = ParseDuration(value);
  } catch (const std::invalid_argument&) {
    Bad(key, value, "is not a duration (e.g. 30s, 500ms, 2m)");
  }
  if (d < min || d > max) {
    Bad(key, value, "is out of range " + std::to_string(min.count()) + "ms.." + std::to_string(max.count()) + "ms");
  }
  return d;
}

}  // namespace

const std::vector<SettingSpec>& Settings() {
  static const std::vector<SettingSpec> kSettings = {
      {"listen", "--listen", "STUDIO_LISTEN", "HOST:PORT to serve on (default 127.0.0.1:8080)"},
      {"data_dir", "--data-dir", "STUDIO_DATA_DIR", "directory for the SQLite file and indexes (default ./data)"},
      {"database_url", "--database-url", "DATABASE_URL",
       "sqlite:PATH (default DATA_DIR/studio.db) or postgres://user:pass@host:port/db"},
      {"io_threads", "--io-threads", "STUDIO_IO_THREADS", "HTTP io threads (default: one per core)"},
      {"blocking_threads", "--blocking-threads", "STUDIO_BLOCKING_THREADS",
       "threads for database and CPU work (default: 2 per core, at least 4)"},
      {"blocking_queue", "--blocking-queue", "STUDIO_BLOCKING_QUEUE",
       "queued blocking tasks before answering 503 (default 1024)"},
      {"max_connections", "--max-connections", "STUDIO_MAX_CONNECTIONS", "open connections cap (default 10000)"},
      {"max_body_bytes", "--max-body", "STUDIO_MAX_BODY", "default request body limit (default 1MiB)"},
      {"idle_timeout", "--idle-timeout", "STUDIO_IDLE_TIMEOUT", "keep-alive idle timeout (default 60s)"},
      {"header_timeout", "--header-timeout", "STUDIO_HEADER_TIMEOUT",
       "time allowed to send request headers (default 10s)"},
      {"shutdown_grace", "--shutdown-grace", "STUDIO_SHUTDOWN_GRACE",
       "how long SIGTERM waits for in-flight work (default 30s)"},
      {"cors_origins", "--cors-origins", "STUDIO_CORS_ORIGINS", "comma-separated allowed browser origins"},
      {"hsts_max_age", "--hsts-max-age", "STUDIO_HSTS_MAX_AGE",
       "Strict-Transport-Security max-age in seconds when behind TLS (default 0 = off)"},
      {"operator_key", "--operator-key", "STUDIO_OPERATOR_KEY",
       "when set, /metrics requires 'Authorization: Bearer KEY' (min 16 characters)"},
      {"log_level", "--log-level", "STUDIO_LOG_LEVEL", "debug, info, warn or error (default info)"},
      {"access_log", "--access-log", "STUDIO_ACCESS_LOG", "log one line per request (default true)"},
      {"db_pool_size", "--db-pool-size", "STUDIO_DB_POOL_SIZE", "database connections (default 8)"},
      {"db_statement_timeout", "--db-statement-timeout", "STUDIO_DB_STATEMENT_TIMEOUT",
       "per-statement limit (default 5s)"},
      {"test_routes", "--test-routes", "STUDIO_TEST_ROUTES", "enable /debug/* routes for tests (default false)"},
      {"jwt_secret", "--jwt-secret", "JWT_SECRET",
       "access-token signing secret, >= 32 bytes (embedded: generated into DATA_DIR/jwt.secret if unset)"},
      {"trusted_proxies", "--trusted-proxies", "STUDIO_TRUSTED_PROXIES",
       "comma-separated proxy IPs/CIDRs whose X-Forwarded-For is trusted"},
      {"lockout_duration", "--lockout-duration", "STUDIO_LOCKOUT_DURATION",
       "how long an account stays locked after 5 failed logins (default 15m)"},
      {"invitation_ttl", "--invitation-ttl", "STUDIO_INVITATION_TTL",
       "how long an invitation can be accepted (default 7d)"},
      {"rate_limit_per_ip", "--rate-limit-per-ip", "STUDIO_RATE_LIMIT_PER_IP",
       "API requests per minute per client IP, 0 = off (default 1200)"},
      {"rate_limit_per_workspace", "--rate-limit-per-workspace", "STUDIO_RATE_LIMIT_PER_WORKSPACE",
       "authenticated API requests per minute per workspace, 0 = off (default 6000)"},
      {"rate_limit_endpoints", "--rate-limit-endpoints", "STUDIO_RATE_LIMIT_ENDPOINTS",
       "apply the per-endpoint limits of the access policy (default true)"},
      {"max_upload_bytes", "--max-upload", "STUDIO_MAX_UPLOAD", "largest uploaded document (default 50MiB)"},
      {"workers", "--workers", "STUDIO_WORKERS",
       "ingestion worker threads in this process (default one per core; 0 = leave jobs to `studio worker`)"},
      {"job_max_attempts", "--job-max-attempts", "STUDIO_JOB_MAX_ATTEMPTS",
       "runs of a failing job before it goes to the dead-letter queue (default 5)"},
      {"job_lease", "--job-lease", "STUDIO_JOB_LEASE",
       "lease of a running job, renewed by heartbeats; a crashed worker's job is retried after it (default 60s)"},
      {"job_retention", "--job-retention", "STUDIO_JOB_RETENTION", "how long finished jobs are kept (default 7d)"},
      {"embedder", "--embedder", "STUDIO_EMBEDDER",
       "local or openai (default: openai when OPENAI_API_KEY is set, else local)"},
      {"models_dir", "--models-dir", "STUDIO_MODELS_DIR",
       "directory of the local model files (default: the cache scripts/fetch-models.sh fills)"},
      {"openai_api_key", "--openai-api-key", "OPENAI_API_KEY", "key for the OpenAI-compatible API (secret)"},
      {"openai_base_url", "--openai-base-url", "OPENAI_BASE_URL",
       "base URL of the OpenAI-compatible API (default https://api.openai.com)"},
      {"embedding_model", "--embedding-model", "STUDIO_EMBEDDING_MODEL",
       "embedding model of the openai embedder (default text-embedding-3-small)"},
      {"chunk_strategy", "--chunk-strategy", "STUDIO_CHUNK_STRATEGY",
       "default chunking: fixed, paragraph or semantic (default paragraph)"},
      {"chunk_tokens", "--chunk-tokens", "STUDIO_CHUNK_TOKENS", "largest chunk in cl100k_base tokens (default 1000)"},
      {"chunk_overlap", "--chunk-overlap", "STUDIO_CHUNK_OVERLAP",
       "tokens shared by consecutive fixed-size chunks (default 200)"},
      {"search_threshold", "--search-threshold", "STUDIO_SEARCH_THRESHOLD",
       "default minimum cosine similarity of search hits, -1..1 (default: none)"},
      {"hybrid_vector_weight", "--hybrid-vector-weight", "STUDIO_HYBRID_VECTOR_WEIGHT",
       "weight of vector ranks against keyword ranks (1) in hybrid search, 0..1 (default 0.25 local, 1 openai)"},
      {"chat_provider", "--chat-provider", "STUDIO_CHAT_PROVIDER",
       "the agent's model: openai, extractive or auto (default auto: openai when OPENAI_API_KEY or OPENAI_BASE_URL "
       "is set, else extractive)"},
      {"chat_model", "--chat-model", "STUDIO_CHAT_MODEL", "chat model of the openai provider (default gpt-4o-mini)"},
      {"llm_timeout", "--llm-timeout", "STUDIO_LLM_TIMEOUT", "longest one chat model call may take (default 120s)"},
      {"agent_quota", "--agent-quota", "STUDIO_AGENT_QUOTA",
       "agent messages per month by plan, e.g. free=1000,pro=100000 (default: unlimited)"},
  };
  return kSettings;
}

std::string Config::EffectiveDatabaseUrl() const {
  if (!database_url.empty()) return database_url;
  return "sqlite:" + data_dir + "/studio.db";
}

std::chrono::milliseconds ParseDuration(const std::string& text) {
  std::string t = Trim(text);
  std::size_t i = 0;
  while (i < t.size() && (std::isdigit(static_cast<unsigned char>(t[i])) || t[i] == '.')) ++i;
  if (i == 0) throw std::invalid_argument("duration");
  double n = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + i, n);
  if (ec != std::errc() || end != t.data() + i) throw std::invalid_argument("duration");
  std::string unit = Trim(t.substr(i));
  double ms = 0;
  if (unit.empty() || unit == "s") {
    ms = n * 1000;
  } else if (unit == "ms") {
    ms = n;
  } else if (unit == "m") {
    ms = n * 60'000;
  } else if (unit == "h") {
    ms = n * 3'600'000;
  } else {
    throw std::invalid_argument("duration");
  }
  if (ms > 1e15) throw std::invalid_argument("duration");
  return std::chrono::milliseconds(static_cast<long long>(ms));
}

std::size_t ParseSize(const std::string& text) {
  std::string t = Trim(text);
  std::size_t i = 0;
  while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) ++i;
  if (i == 0) throw std::invalid_argument("size");
  unsigned long long n = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + i, n);
  if (ec != std::errc()) throw std::invalid_argument("size");
  std::string unit = Trim(t.substr(i));
  std::transform(unit.begin(), unit.end(), unit.begin(), [](unsigned char c) { return std::tolower(c); });
  unsigned long long mult = 1;
  if (unit.empty() || unit == "b") {
    mult = 1;
  } else if (unit == "kib" || unit == "k" || unit == "kb") {
    mult = unit == "kb" ? 1000 : 1024;
  } else if (unit == "mib" || unit == "m" || unit == "mb") {
    mult = unit == "mb" ? 1000 * 1000 : 1024 * 1024;
  } else {
    throw std::invalid_argument("size");
  }
  if (n > std::numeric_limits<std::size_t>::max() / mult) throw std::invalid_argument("size");
  return static_cast<std::size_t>(n * mult);
}

RawSettings ReadTomlFile(const std::string& path) {
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    throw ConfigError("invalid config file " + path + " line " + std::to_string(where.line) + ": " +
                      std::string(e.description()));
  } catch (const std::exception& e) {
    throw ConfigError("cannot read config file " + path + ": " + e.what());
  }
  std::set<std::string> known;
  for (const auto& s : Settings()) known.insert(s.key);
  RawSettings out;
  for (const auto& [k, node] : table) {
    std::string key(k.str());
    if (!known.count(key))
      throw ConfigError(std::string("unknown setting '").append(key).append("' in config file ").append(path));
    // Exact type checks: toml++'s value<T>() converts between some types, which would hide mistakes.
    if (node.is_string()) {
      out[key] = *node.value<std::string>();
    } else if (node.is_integer()) {
      out[key] = std::to_string(*node.value<std::int64_t>());
    } else if (node.is_boolean()) {
      out[key] = *node.value<bool>() ? "true" : "false";
    } else if (const auto* arr = node.as_array()) {
      std::string joined;
      for (const auto& item : *arr) {
        auto text = item.is_string() ? item.value<std::string>() : std::nullopt;
        if (!text) throw ConfigError("invalid setting " + Name(key) + " in " + path + ": list items must be strings");
        joined += (joined.empty() ? "" : ",") + *text;
      }
      out[key] = joined;
    } else {
      throw ConfigError("invalid setting " + Name(key) + " in " + path + ": unsupported value type");
    }
  }
  return out;
}

Config BuildConfig(const RawSettings& raw) {
  Config c;
  for (const auto& [key, value] : raw) {
    if (key == "listen") {
      auto colon = value.rfind(':');
      if (colon == std::string::npos || colon == 0) Bad(key, value, "is not HOST:PORT (e.g. 127.0.0.1:8080)");
      std::string host = value.substr(0, colon);
      if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
      c.listen_host = host;
      c.listen_port = static_cast<std::uint16_t>(ParseInteger(key, value.substr(colon + 1), 0, 65535));
    } else if (key == "data_dir") {
      if (Trim(value).empty()) Bad(key, value, "must not be empty");
      c.data_dir = value;
    } else if (key == "database_url") {
      if (!value.empty()) {
        try {
          store::BackendForUrl(value);
        } catch (const std::invalid_argument&) {
          // Only the scheme is shown: the rest may contain a password.
          throw ConfigError("invalid setting " + Name(key) + ": must start with sqlite:, postgres:// or postgresql://");
        }
      }
      c.database_url = value;
    } else if (key == "io_threads") {
      c.io_threads = static_cast<int>(ParseInteger(key, value, 0, 256));
    } else if (key == "blocking_threads") {
      c.blocking_threads = static_cast<int>(ParseInteger(key, value, 0, 1024));
    } else if (key == "blocking_queue") {
      c.blocking_queue = static_cast<std::size_t>(ParseInteger(key, value, 0, 1'000'000));
    } else if (key == "max_connections") {
      c.max_connections = static_cast<std::size_t>(ParseInteger(key, value, 1, 1'000'000));
    } else if (key == "max_body_bytes") {
      try {
        c.max_body_bytes = ParseSize(value);
      } catch (const std::invalid_argument&) {
        Bad(key, value, "is not a size (e.g. 1048576, 512KiB, 4MiB)");
      }
      if (c.max_body_bytes < 1024 || c.max_body_bytes > 1024ull * 1024 * 1024) {
        Bad(key, value, "is out of range 1KiB..1GiB");
      }
    } else if (key == "idle_timeout") {
      c.idle_timeout = Duration(key, value, std::chrono::milliseconds(100), std::chrono::hours(1));
    } else if (key == "header_timeout") {
      c.header_timeout = Duration(key, value, std::chrono::milliseconds(100), std::chrono::minutes(5));
    } else if (key == "shutdown_grace") {
      c.shutdown_grace = Duration(key, value, std::chrono::milliseconds(0), std::chrono::hours(1));
    } else if (key == "cors_origins") {
      c.cors_origins.clear();
      std::string rest = value;
      while (!rest.empty()) {
        auto comma = rest.find(',');
        std::string origin = Trim(rest.substr(0, comma));
        rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
        if (origin.empty()) continue;
        if (origin != "*" && origin.rfind("http://", 0) != 0 && origin.rfind("https://", 0) != 0) {
          Bad(key, origin, "is not an origin (https://host[:port] or *)");
        }
        c.cors_origins.push_back(origin);
      }
    } else if (key == "hsts_max_age") {
      c.hsts_max_age = static_cast<int>(ParseInteger(key, value, 0, 63'072'000));
    } else if (key == "operator_key") {
      // The value itself is never echoed: it is a secret.
      if (!value.empty() && value.size() < 16) {
        throw ConfigError("invalid setting " + Name(key) + ": must be at least 16 characters");
      }
      c.operator_key = value;
    } else if (key == "log_level") {
      std::string v = Trim(value);
      std::transform(v.begin(), v.end(), v.begin(), [](unsigned char ch) { return std::tolower(ch); });
      if (v == "warning") v = "warn";
      if (v != "debug" && v != "info" && v != "warn" && v != "error") {
        Bad(key, value, "is not one of debug, info, warn, error");
      }
      c.log_level = v;
    } else if (key == "access_log") {
      c.access_log = ParseBool(key, value);
    } else if (key == "db_pool_size") {
      c.db_pool_size = static_cast<int>(ParseInteger(key, value, 1, 512));
    } else if (key == "db_statement_timeout") {
      c.db_statement_timeout = Duration(key, value, std::chrono::milliseconds(0), std::chrono::hours(1));
    } else if (key == "test_routes") {
      c.test_routes = ParseBool(key, value);
    } else if (key == "jwt_secret") {
      if (!value.empty() && value.size() < 32) {
        throw ConfigError("invalid setting " + Name(key) + ": must be at least 32 bytes");
      }
      c.jwt_secret = value;
    } else if (key == "trusted_proxies") {
      c.trusted_proxies.clear();
      std::string rest = value;
      while (!rest.empty()) {
        auto comma = rest.find(',');
        std::string proxy = Trim(rest.substr(0, comma));
        rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
        if (!proxy.empty()) c.trusted_proxies.push_back(proxy);
      }
      try {
        ratelimit::ClientIpResolver check(c.trusted_proxies);
      } catch (const std::invalid_argument&) {
        Bad(key, value, "is not a list of IP addresses or CIDR ranges");
      }
    } else if (key == "lockout_duration") {
      c.lockout_duration = Duration(key, value, std::chrono::seconds(1), std::chrono::hours(24 * 7));
    } else if (key == "invitation_ttl") {
      c.invitation_ttl = Duration(key, value, std::chrono::minutes(1), std::chrono::hours(24 * 90));
    } else if (key == "rate_limit_per_ip") {
      c.rate_limit_per_ip = static_cast<std::uint32_t>(ParseInteger(key, value, 0, 100'000'000));
    } else if (key == "rate_limit_per_workspace") {
      c.rate_limit_per_workspace = static_cast<std::uint32_t>(ParseInteger(key, value, 0, 100'000'000));
    } else if (key == "rate_limit_endpoints") {
      c.rate_limit_endpoints = ParseBool(key, value);
    } else if (key == "max_upload_bytes") {
      try {
        c.max_upload_bytes = ParseSize(value);
      } catch (const std::invalid_argument&) {
        Bad(key, value, "is not a size (e.g. 50MiB)");
      }
      if (c.max_upload_bytes < 1024 || c.max_upload_bytes > 4ull * 1024 * 1024 * 1024) {
        Bad(key, value, "is out of range 1KiB..4GiB");
      }
    } else if (key == "workers") {
      c.workers = static_cast<int>(ParseInteger(key, value, 0, 256));
    } else if (key == "job_max_attempts") {
      c.job_max_attempts = static_cast<int>(ParseInteger(key, value, 1, 100));
    } else if (key == "job_lease") {
      c.job_lease = Duration(key, value, std::chrono::seconds(1), std::chrono::hours(1));
    } else if (key == "job_retention") {
      c.job_retention = Duration(key, value, std::chrono::minutes(1), std::chrono::hours(24 * 365));
    } else if (key == "embedder") {
      if (!value.empty() && value != "local" && value != "openai") Bad(key, value, "must be local or openai");
      c.embedder = value;
    } else if (key == "models_dir") {
      c.models_dir = value;
    } else if (key == "openai_api_key") {
      c.openai_api_key = value;
    } else if (key == "openai_base_url") {
      if (!value.starts_with("http://") && !value.starts_with("https://")) {
        Bad(key, value, "must start with http:// or https://");
      }
      c.openai_base_url = value;
    } else if (key == "embedding_model") {
      if (Trim(value).empty()) Bad(key, value, "must not be empty");
      c.embedding_model = value;
    } else if (key == "chunk_strategy") {
      if (value != "fixed" && value != "paragraph" && value != "semantic") {
        Bad(key, value, "must be fixed, paragraph or semantic");
      }
      c.chunk_strategy = value;
    } else if (key == "chunk_tokens") {
      c.chunk_tokens = static_cast<int>(ParseInteger(key, value, 64, 8192));
    } else if (key == "chunk_overlap") {
      c.chunk_overlap = static_cast<int>(ParseInteger(key, value, 0, 4096));
    } else if (key == "search_threshold") {
      double t = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), t);
      if (ec != std::errc() || end != value.data() + value.size() || t < -1 || t > 1) {
        Bad(key, value, "must be a number from -1 to 1");
      }
      c.search_threshold = t;
    } else if (key == "hybrid_vector_weight") {
      double w = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), w);
      if (ec != std::errc() || end != value.data() + value.size() || w < 0 || w > 1) {
        Bad(key, value, "must be a number from 0 to 1");
      }
      c.hybrid_vector_weight = w;
    } else if (key == "chat_provider") {
      if (value != "auto" && value != "openai" && value != "extractive") {
        Bad(key, value, "must be auto, openai or extractive");
      }
      c.chat_provider = value;
    } else if (key == "chat_model") {
      if (Trim(value).empty()) Bad(key, value, "must not be empty");
      c.chat_model = value;
    } else if (key == "llm_timeout") {
      c.llm_timeout = Duration(key, value, std::chrono::seconds(1), std::chrono::hours(1));
    } else if (key == "agent_quota") {
      c.agent_quota.clear();
      std::size_t start = 0;
      while (start < value.size()) {
        std::size_t end = value.find(',', start);
        if (end == std::string::npos) end = value.size();
        const std::string item = Trim(value.substr(start, end - start));
        const std::size_t eq = item.find('=');
        if (eq == std::string::npos || eq == 0) Bad(key, value, "must look like free=1000,pro=100000");
        c.agent_quota[Trim(item.substr(0, eq))] = ParseInteger(key, Trim(item.substr(eq + 1)), 0, 1'000'000'000'000);
        start = end + 1;
      }
    } else {
      throw ConfigError("unknown setting '" + key + "'");
    }
  }
  if (c.chunk_overlap * 2 > c.chunk_tokens) {
    throw ConfigError("invalid setting chunk_overlap: must be at most half of chunk_tokens (" +
                      std::to_string(c.chunk_tokens) + ")");
  }
  return c;
}

}  // namespace studio::app
