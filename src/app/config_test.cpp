#include "app/config.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace studio::app {
namespace {

using namespace std::chrono_literals;

std::string ErrorOf(const RawSettings& raw) {
  try {
    BuildConfig(raw);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(Config, DefaultsAreEmbedded) {
  Config c = BuildConfig({});
  EXPECT_EQ(c.listen_host, "127.0.0.1");
  EXPECT_EQ(c.listen_port, 8080);
  EXPECT_EQ(c.EffectiveDatabaseUrl(), "sqlite:./data/studio.db");
  EXPECT_EQ(c.shutdown_grace, 30s);
}

TEST(Config, ParsesEveryKind) {
  Config c = BuildConfig({{"listen", "0.0.0.0:9000"},
                          {"data_dir", "/var/lib/studio"},
                          {"shutdown_grace", "1500ms"},
                          {"max_body_bytes", "4MiB"},
                          {"cors_origins", "https://a.example, https://b.example:8443"},
                          {"access_log", "off"},
                          {"log_level", "WARNING"},
                          {"invitation_ttl", "48h"}});
  EXPECT_EQ(c.listen_host, "0.0.0.0");
  EXPECT_EQ(c.listen_port, 9000);
  EXPECT_EQ(c.EffectiveDatabaseUrl(), "sqlite:/var/lib/studio/studio.db");
  EXPECT_EQ(c.shutdown_grace, 1500ms);
  EXPECT_EQ(c.max_body_bytes, 4u * 1024 * 1024);
  ASSERT_EQ(c.cors_origins.size(), 2u);
  EXPECT_EQ(c.cors_origins[1], "https://b.example:8443");
  EXPECT_FALSE(c.access_log);
  EXPECT_EQ(c.log_level, "warn");
  EXPECT_EQ(c.invitation_ttl, 48h);
  EXPECT_EQ(BuildConfig({}).invitation_ttl, 168h);
}

TEST(Config, BadValuesNameTheSettingInOneLine) {
  auto e = ErrorOf({{"listen", "localhost"}});
  EXPECT_NE(e.find("STUDIO_LISTEN"), std::string::npos) << e;
  EXPECT_NE(e.find("--listen"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos);
  EXPECT_NE(ErrorOf({{"listen", "127.0.0.1:70000"}}).find("out of range"), std::string::npos);
  EXPECT_NE(ErrorOf({{"shutdown_grace", "soon"}}).find("STUDIO_SHUTDOWN_GRACE"), std::string::npos);
  EXPECT_NE(ErrorOf({{"max_body_bytes", "12 parsecs"}}).find("STUDIO_MAX_BODY"), std::string::npos);
  EXPECT_NE(ErrorOf({{"cors_origins", "evil"}}).find("STUDIO_CORS_ORIGINS"), std::string::npos);
  EXPECT_NE(ErrorOf({{"log_level", "loud"}}).find("STUDIO_LOG_LEVEL"), std::string::npos);
  EXPECT_NE(ErrorOf({{"db_pool_size", "0"}}).find("STUDIO_DB_POOL_SIZE"), std::string::npos);
  EXPECT_NE(ErrorOf({{"invitation_ttl", "10s"}}).find("STUDIO_INVITATION_TTL"), std::string::npos);
}

TEST(Config, AgentSettings) {
  Config d = BuildConfig({});
  EXPECT_EQ(d.chat_provider, "auto");
  EXPECT_EQ(d.llm_timeout, 120s);
  EXPECT_TRUE(d.agent_quota.empty());
  Config c = BuildConfig({{"chat_provider", "openai"},
                          {"chat_model", "llama3.1"},
                          {"llm_timeout", "30s"},
                          {"agent_quota", "free=1000, pro = 100000"}});
  EXPECT_EQ(c.chat_provider, "openai");
  EXPECT_EQ(c.chat_model, "llama3.1");
  EXPECT_EQ(c.llm_timeout, 30s);
  ASSERT_EQ(c.agent_quota.size(), 2u);
  EXPECT_EQ(c.agent_quota.at("free"), 1000);
  EXPECT_EQ(c.agent_quota.at("pro"), 100000);
  EXPECT_NE(ErrorOf({{"chat_provider", "gpt"}}).find("STUDIO_CHAT_PROVIDER"), std::string::npos);
  EXPECT_NE(ErrorOf({{"agent_quota", "free"}}).find("STUDIO_AGENT_QUOTA"), std::string::npos);
  EXPECT_NE(ErrorOf({{"agent_quota", "free=-1"}}).find("STUDIO_AGENT_QUOTA"), std::string::npos);
  EXPECT_NE(ErrorOf({{"llm_timeout", "0s"}}).find("STUDIO_LLM_TIMEOUT"), std::string::npos);
}

TEST(Config, SecretsAreNeverEchoed) {
  auto e = ErrorOf({{"database_url", "mysql://root:hunter2hunter2@db/x"}});
  EXPECT_NE(e.find("DATABASE_URL"), std::string::npos);
  EXPECT_EQ(e.find("hunter2"), std::string::npos) << e;
  auto k = ErrorOf({{"operator_key", "short-s3cret"}});
  EXPECT_NE(k.find("STUDIO_OPERATOR_KEY"), std::string::npos);
  EXPECT_EQ(k.find("short-s3cret"), std::string::npos) << k;
}

TEST(Config, PostgresUrlSelectsScaleOut) {
  Config c = BuildConfig({{"database_url", "postgresql://u:p@127.0.0.1:5432/studio"}});
  EXPECT_EQ(c.EffectiveDatabaseUrl(), "postgresql://u:p@127.0.0.1:5432/studio");
}

TEST(Config, DurationAndSizeParsers) {
  EXPECT_EQ(ParseDuration("30"), 30s);
  EXPECT_EQ(ParseDuration("2m"), 120s);
  EXPECT_EQ(ParseDuration(" 250ms "), 250ms);
  EXPECT_THROW(ParseDuration("ms"), std::invalid_argument);
  EXPECT_THROW(ParseDuration("5 days"), std::invalid_argument);
  EXPECT_EQ(ParseSize("1KiB"), 1024u);
  EXPECT_EQ(ParseSize("1MB"), 1000u * 1000);
  EXPECT_THROW(ParseSize("-1"), std::invalid_argument);
  EXPECT_THROW(ParseSize("99999999999999999999999"), std::invalid_argument);
}

TEST(Config, TomlFileIsReadAndValidated) {
  std::string path = ::testing::TempDir() + "/studio_config_test.toml";
  {
    std::ofstream f(path);
    f << "listen = \"127.0.0.1:9123\"\nshutdown_grace = \"5s\"\ndb_pool_size = 3\naccess_log = false\n"
         "cors_origins = [\"https://a.example\"]\n";
  }
  RawSettings raw = ReadTomlFile(path);
  Config c = BuildConfig(raw);
  EXPECT_EQ(c.listen_port, 9123);
  EXPECT_EQ(c.shutdown_grace, 5s);
  EXPECT_EQ(c.db_pool_size, 3);
  EXPECT_FALSE(c.access_log);
  ASSERT_EQ(c.cors_origins.size(), 1u);
  {
    std::ofstream f(path);
    f << "listn = \"x\"\n";
  }
  try {
    ReadTomlFile(path);
    FAIL() << "unknown key accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("listn"), std::string::npos);
  }
  {
    std::ofstream f(path);
    f << "listen = \n";
  }
  EXPECT_THROW(ReadTomlFile(path), ConfigError);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace studio::app
