#include "obs/redact.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace studio::obs {
namespace {

struct Case {
  std::string in;
  std::string out;
};

void ExpectRedacts(const std::vector<Case>& cases) {
  for (const Case& c : cases) EXPECT_EQ(RedactText(c.in), c.out) << "input: " << c.in;
}

void ExpectUnchanged(const std::vector<std::string>& inputs) {
  for (const std::string& in : inputs) EXPECT_EQ(RedactText(in), in) << "input: " << in;
}

// ---- IsSecretKey ----

TEST(IsSecretKeyTest, ListedNamesInAnyCaseWithDashOrUnderscore) {
  for (const char* key : {"authorization",
                          "Authorization",
                          "proxy-authorization",
                          "Proxy_Authorization",
                          "cookie",
                          "Cookie",
                          "set-cookie",
                          "Set-Cookie",
                          "password",
                          "PASSWORD",
                          "passwd",
                          "secret",
                          "token",
                          "access_token",
                          "access-token",
                          "refresh_token",
                          "api_key",
                          "api-key",
                          "API_KEY",
                          "apikey",
                          "ApiKey",
                          "x-api-key",
                          "X-API-KEY",
                          "x_api_key",
                          "client_secret",
                          "client-secret",
                          "jwt",
                          "JWT",
                          "private_key",
                          "private-key"}) {
    EXPECT_TRUE(IsSecretKey(key)) << key;
  }
}

TEST(IsSecretKeyTest, NamesContainingPasswordSecretOrToken) {
  for (const char* key : {"db_password", "newPassword", "old-passwd", "webhook_secret", "secretName", "csrf_token",
                          "id_token", "session-token", "prompt_tokens", "tokenizer", "has_token"}) {
    EXPECT_TRUE(IsSecretKey(key)) << key;
  }
}

TEST(IsSecretKeyTest, OrdinaryNamesAreNotSecret) {
  for (const char* key : {"",       "user",         "username",        "email",   "author",     "authority", "id",
                          "key",    "api",          "cookies_enabled", "pass",    "passport",   "route",     "status",
                          "method", "x-request-id", "content-type",    "private", "jwt_issuer", "keyid"}) {
    EXPECT_FALSE(IsSecretKey(key)) << key;
  }
}

// ---- e-mail ----

TEST(RedactTextTest, Emails) {
  ExpectRedacts({
      {"alice@example.com", "[EMAIL]"},
      {"mail alice@example.com now", "mail [EMAIL] now"},
      {"first.last+tag@sub.example.co.uk", "[EMAIL]"},
      {"user_1%x@mail-server.example.org", "[EMAIL]"},
      {"<bob@example.io>", "<[EMAIL]>"},
      {"Write to bob@example.com.", "Write to [EMAIL]."},
      {"a@example.com,b@example.net", "[EMAIL],[EMAIL]"},
      {"UPPER@EXAMPLE.COM", "[EMAIL]"},
      {"...dots@example.com", "...[EMAIL]"},
  });
}

TEST(RedactTextTest, NotEmails) {
  ExpectUnchanged({
      "@mention",
      "user@",
      "user@localhost",
      "user@example",
      "user@example.c",
      "user@example.123",
      "user@-example.com",
      "user@example-.com",
      "user@exa..mple.com",
      "a @ b",
      "price @ 5",
      "git@",
  });
}

// ---- payment cards ----

TEST(RedactTextTest, CardNumbers) {
  ExpectRedacts({
      {"4111111111111111", "[CARD]"},  // Visa
      {"card 4111 1111 1111 1111 exp 12/30", "card [CARD] exp 12/30"},
      {"4111-1111-1111-1111", "[CARD]"},
      {"5555555555554444", "[CARD]"},   // Mastercard 51-55
      {"2223003122003222", "[CARD]"},   // Mastercard 2221-2720
      {"378282246310005", "[CARD]"},    // Amex, 15 digits
      {"3782 822463 10005", "[CARD]"},  // Amex grouping 4-6-5
      {"30569309025904", "[CARD]"},     // Diners, 14 digits
      {"6011111111111117", "[CARD]"},   // Discover
      {"3530111333300000", "[CARD]"},   // JCB
      {"4222222222222", "[CARD]"},      // 13-digit Visa
      {"6250941006528599", "[CARD]"},   // UnionPay
      {"(4111111111111111)", "([CARD])"},
      {"paid with 4111111111111111.", "paid with [CARD]."},
      {"cards 4111111111111111, 5555555555554444", "cards [CARD], [CARD]"},
  });
}

TEST(RedactTextTest, NotCardNumbers) {
  ExpectUnchanged({
      "4111111111111112",         // fails Luhn
      "4111 1111 1111 1112",      // fails Luhn, grouped
      "4111-1111-1111-1112",      // fails Luhn, dashed
      "1234567812345670",         // passes Luhn, no issuer starts with 1
      "1700000000000",            // Unix time in ms
      "1700000000000000000",      // Unix time in ns
      "7111111111111111",         // prefix 7
      "2220000000000009",         // just below Mastercard's 2221
      "411111111111",             // 12 digits: too short
      "41111111111111111110",     // 20 digits: too long
      "order_4111111111111111",   // glued to an identifier
      "4111111111111111abc",      // glued to letters
      "id=x4111111111111111",     // glued to letters
      "0.4111111111111111",       // a decimal
      "4111111111111111.5",       // a decimal
      "41 11 11 11 11 11 11 11",  // groups of two
      "4111  1111  1111  1111",   // double spaces
  });
}

// ---- phone numbers ----

TEST(RedactTextTest, PhoneNumbers) {
  ExpectRedacts({
      {"+14155550123", "[PHONE]"},
      {"+1 415 555 0123", "[PHONE]"},
      {"+1-415-555-0123", "[PHONE]"},
      {"+1.415.555.0123", "[PHONE]"},
      {"+1 (415) 555-0123", "[PHONE]"},
      {"+44 20 7946 0958", "[PHONE]"},
      {"+49 (0)30 123456", "[PHONE]"},
      {"+33 1 23 45 67 89", "[PHONE]"},
      {"call +4930123456.", "call [PHONE]."},
      {"(415) 555-0123", "[PHONE]"},
      {"(415)555-0123", "[PHONE]"},
      {"415-555-0123", "[PHONE]"},
      {"415.555.0123", "[PHONE]"},
      {"415 555 0123", "[PHONE]"},
      {"1-415-555-0123", "[PHONE]"},
      {"1 415 555 0123", "[PHONE]"},
      {"1 (415) 555-0123", "[PHONE]"},
      {"call me at 415-555-0123, thanks", "call me at [PHONE], thanks"},
      {"tel:+14155550123", "tel:[PHONE]"},
  });
}

TEST(RedactTextTest, NotPhoneNumbers) {
  ExpectUnchanged({
      "+1234567",           // 7 digits: too short for E.164
      "+1234567890123456",  // 16 digits: too long
      "2+2=4",
      "1+14155550123",  // '+' glued to a digit
      "415-555-01234",  // line number too long
      "4155-555-0123",  // area code too long
      "415-555.0123",   // mixed separators
      "415--555-0123",
      "123-456-7890",  // area code cannot start with 1
      "415-155-0123",  // exchange cannot start with 1
      "015-555-0123",
      "4155550123",     // bare ten digits are too ambiguous
      "x415-555-0123",  // glued to a word
      "415-555-0123x", "415-555-0123-9", "1.415.555.0123.4",
      "call(415) 555-0123",  // glued to a word
  });
}

// ---- things that must survive ----

TEST(RedactTextTest, IdentifiersAndNumbersAreLeftAlone) {
  ExpectUnchanged({
      "550e8400-e29b-41d4-a716-446655440000",  // UUID
      "4b1d6f0a-9c2e-4f3b-8d7a-123456789012",
      "req_01HZX3K4Q9M2V6B8N0C5T7W1YA",  // ULID-style id
      "usr_4111111111111111",
      "deadbeef4111111111111111cafe",  // hex
      "sha256:4111111111111111111111111111111111111111111111111111111111111111",
      "192.168.100.200",  // IPv4
      "10.0.0.1:8080",
      "2001:db8::4111:1111",       // IPv6
      "2026-11-24",                // date
      "2026-11-24T12:34:56.789Z",  // timestamp
      "12:34:56",
      "v1.22.333",  // version
      "1.2.3-rc.4",
      "3.14159265358979323846",  // decimal
      "1700000000",              // Unix time
      "1700000000.123456",
      "port 8080, 200 OK, took 15 ms",
      "page 1 of 415",
      "HTTP/1.1 500",
      "4111-1111-1111-1111-1111-1111",  // too many digits for a card
      "ISBN 978-3-16-148410-0",
      "",
      "no digits or at-signs here",
  });
}

TEST(RedactTextTest, MixedText) {
  EXPECT_EQ(RedactText("user alice@example.com paid with 4111 1111 1111 1111 from 192.168.1.10, "
                       "call (415) 555-0123 or +44 20 7946 0958; order ord_123 on 2026-11-24"),
            "user [EMAIL] paid with [CARD] from 192.168.1.10, "
            "call [PHONE] or [PHONE]; order ord_123 on 2026-11-24");
}

TEST(RedactTextTest, LongInputsAreHandledLinearly) {
  // A megabyte of digits and of '@' must neither overflow the stack nor take quadratic time.
  std::string digits(1 << 20, '7');
  EXPECT_EQ(RedactText(digits), digits);
  std::string ats(1 << 20, '@');
  EXPECT_EQ(RedactText(ats), ats);
  std::string groups;
  for (int i = 0; i < 100000; ++i) groups += "4111 ";
  EXPECT_EQ(RedactText(groups), groups);
  std::string mails;
  for (int i = 0; i < 10000; ++i) mails += "a@example.com ";
  std::string expected;
  for (int i = 0; i < 10000; ++i) expected += "[EMAIL] ";
  EXPECT_EQ(RedactText(mails), expected);
}

// ---- RedactJson ----

TEST(RedactJsonTest, SecretKeysAreRedactedRecursively) {
  Json in = Json::parse(R"({
    "authorization": "Bearer abc.def.ghi",
    "password": "hunter2",
    "nested": {"api_key": "k", "deeper": {"Client-Secret": {"a": 1}}, "keep": "v"},
    "headers": [{"Cookie": "sid=1"}, {"Accept": "text/html"}],
    "token": 12345,
    "user": "bob"
  })");
  Json out = RedactJson(in);
  EXPECT_EQ(out["authorization"], kRedacted);
  EXPECT_EQ(out["password"], kRedacted);
  EXPECT_EQ(out["nested"]["api_key"], kRedacted);
  EXPECT_EQ(out["nested"]["deeper"]["Client-Secret"], kRedacted);  // a whole structured value
  EXPECT_EQ(out["nested"]["keep"], "v");
  EXPECT_EQ(out["headers"][0]["Cookie"], kRedacted);
  EXPECT_EQ(out["headers"][1]["Accept"], "text/html");
  EXPECT_EQ(out["token"], kRedacted);  // "token" itself is a listed name: even a number goes
  EXPECT_EQ(out["user"], "bob");
}

TEST(RedactJsonTest, TokenCountsAndFlagsAreKept) {
  Json in = Json::parse(R"({
    "usage": {"prompt_tokens": 12, "completion_tokens": 30, "total_tokens": 42},
    "max_tokens": null, "has_token": true, "token_budget": 1.5,
    "session_token": "s3cr3t", "refresh_tokens": ["a", "b"], "csrf_token": {"v": "x"},
    "db_password": 1234, "secret_flag": false
  })");
  Json out = RedactJson(in);
  EXPECT_EQ(out["usage"]["prompt_tokens"], 12);
  EXPECT_EQ(out["usage"]["completion_tokens"], 30);
  EXPECT_EQ(out["usage"]["total_tokens"], 42);
  EXPECT_TRUE(out["max_tokens"].is_null());
  EXPECT_EQ(out["has_token"], true);
  EXPECT_EQ(out["token_budget"], 1.5);
  EXPECT_EQ(out["session_token"], kRedacted);
  EXPECT_EQ(out["refresh_tokens"], kRedacted);
  EXPECT_EQ(out["csrf_token"], kRedacted);
  // Only "token" earns the exception; password and secret names lose any value.
  EXPECT_EQ(out["db_password"], kRedacted);
  EXPECT_EQ(out["secret_flag"], kRedacted);
}

TEST(RedactJsonTest, StringsEverywhereGetRedactText) {
  Json in = Json::parse(R"({
    "note": "mail alice@example.com",
    "list": ["4111 1111 1111 1111", "ok", 4111111111111111, {"phone": "+1 415 555 0123"}],
    "id": "550e8400-e29b-41d4-a716-446655440000",
    "ip": "10.0.0.1", "count": 7
  })");
  Json out = RedactJson(in);
  EXPECT_EQ(out["note"], "mail [EMAIL]");
  EXPECT_EQ(out["list"][0], "[CARD]");
  EXPECT_EQ(out["list"][1], "ok");
  EXPECT_EQ(out["list"][2], 4111111111111111);  // numbers are not text
  EXPECT_EQ(out["list"][3]["phone"], "[PHONE]");
  EXPECT_EQ(out["id"], in["id"]);
  EXPECT_EQ(out["ip"], "10.0.0.1");
  EXPECT_EQ(out["count"], 7);
}

TEST(RedactJsonTest, NonObjectsAndEmpty) {
  EXPECT_EQ(RedactJson(Json("bob@example.com")), "[EMAIL]");
  EXPECT_EQ(RedactJson(Json::array({"x", "+4930123456"})), Json::array({"x", "[PHONE]"}));
  EXPECT_TRUE(RedactJson(Json()).is_null());
  EXPECT_EQ(RedactJson(Json::object()), Json::object());
  EXPECT_EQ(RedactJson(Json(3.5)), 3.5);
  // Keys are not rewritten, only values.
  Json keyed = RedactJson(Json{{"bob@example.com", "x"}});
  EXPECT_TRUE(keyed.contains("bob@example.com"));
}

}  // namespace
}  // namespace studio::obs
