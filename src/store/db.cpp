#include "store/db.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <system_error>

#include "store/internal.hpp"
#include "store/postgres/pg_db.hpp"
#include "store/sqlite/sqlite_db.hpp"

namespace studio::store {

std::string_view BackendName(Backend backend) { return backend == Backend::kSqlite ? "sqlite" : "postgres"; }

// ---- errors ----------------------------------------------------------------------------------

namespace {

std::string DbErrorWhat(const std::string& query, const std::string& message, const std::string& sqlstate) {
  std::string what = "query " + query + ": " + message;
  if (!sqlstate.empty()) what += " [" + sqlstate + "]";
  return what;
}

std::string ConflictDetail(ConstraintKind kind) {
  return kind == ConstraintKind::kUnique
             ? "The resource conflicts with one that already exists."
             : "The request refers to a resource that does not exist or is still referenced.";
}

}  // namespace

DbError::DbError(std::string query, std::string message, std::string sqlstate)
    : std::runtime_error(DbErrorWhat(query, message, sqlstate)),
      query_(std::move(query)),
      message_(std::move(message)),
      sqlstate_(std::move(sqlstate)) {}

ConstraintViolation::ConstraintViolation(ConstraintKind kind, std::string query, std::string driver_message)
    : studio::Conflict(ConflictDetail(kind), "CONFLICT"),
      kind_(kind),
      query_(std::move(query)),
      driver_message_(std::move(driver_message)) {}

DbUnavailable::DbUnavailable(std::string detail, std::string query, std::string driver_message, int retry_after_seconds)
    : studio::ServiceUnavailable(std::move(detail), retry_after_seconds, "DB_UNAVAILABLE"),
      query_(std::move(query)),
      driver_message_(std::move(driver_message)) {}

// ---- rows ------------------------------------------------------------------------------------

namespace {

template <class T>
bool ParseWhole(std::string_view s, T& out) {
  if (s.empty()) return false;
  const char* first = s.data();
  const char* last = s.data() + s.size();
  // from_chars rejects a leading '+', which PostgreSQL never emits but users might store.
  if (*first == '+') ++first;
  auto [ptr, ec] = std::from_chars(first, last, out);
  return ec == std::errc() && ptr == last;
}

}  // namespace

Row::Row(std::shared_ptr<const detail::ResultMeta> meta, std::vector<Cell> cells)
    : meta_(std::move(meta)), cells_(std::move(cells)) {}

std::size_t Row::ColumnIndex(std::string_view name) const {
  if (meta_ != nullptr) {
    const auto& cols = meta_->columns;
    for (std::size_t i = 0; i < cols.size(); ++i) {
      if (cols[i] == name) return i;
    }
  }
  throw DbError(meta_ != nullptr ? meta_->query : "", "no column named '" + std::string(name) + "'");
}

const Row::Cell& Row::cell(std::size_t i) const {
  if (i >= cells_.size()) {
    throw DbError(meta_ != nullptr ? meta_->query : "", "column index " + std::to_string(i) + " out of range (" +
                                                            std::to_string(cells_.size()) + " columns)");
  }
  return cells_[i];
}

void Row::Fail(std::size_t i, std::string_view what) const {
  std::string column = "column " + std::to_string(i);
  if (meta_ != nullptr && i < meta_->columns.size()) column += " (" + meta_->columns[i] + ")";
  throw DbError(meta_ != nullptr ? meta_->query : "", column + " " + std::string(what));
}

std::int64_t Row::GetInt(std::size_t i) const {
  const Cell& c = cell(i);
  if (const auto* v = std::get_if<std::int64_t>(&c)) return *v;
  if (const auto* d = std::get_if<double>(&c)) {
    // 2^63 is exactly representable; anything at or beyond it does not fit.
    if (std::trunc(*d) == *d && *d >= -9223372036854775808.0 && *d < 9223372036854775808.0) {
      return static_cast<std::int64_t>(*d);
    }
    Fail(i, "is not an integer");
  }
  if (const auto* s = std::get_if<std::string>(&c)) {
    std::int64_t out = 0;
    if (ParseWhole(*s, out)) return out;
    Fail(i, "is not an integer");
  }
  Fail(i, "is NULL");
}

double Row::GetDouble(std::size_t i) const {
  const Cell& c = cell(i);
  if (const auto* d = std::get_if<double>(&c)) return *d;
  if (const auto* v = std::get_if<std::int64_t>(&c)) return static_cast<double>(*v);
  if (const auto* s = std::get_if<std::string>(&c)) {
    double out = 0;
    if (ParseWhole(*s, out)) return out;
    Fail(i, "is not a number");
  }
  Fail(i, "is NULL");
}

std::string Row::GetString(std::size_t i) const {
  const Cell& c = cell(i);
  if (const auto* s = std::get_if<std::string>(&c)) return *s;
  if (const auto* v = std::get_if<std::int64_t>(&c)) return std::to_string(*v);
  if (const auto* d = std::get_if<double>(&c)) return detail::FormatDouble(*d);
  Fail(i, "is NULL");
}

bool Row::GetBool(std::size_t i) const {
  const Cell& c = cell(i);
  if (const auto* v = std::get_if<std::int64_t>(&c)) return *v != 0;
  if (const auto* s = std::get_if<std::string>(&c)) {
    if (*s == "t" || *s == "true" || *s == "1") return true;
    if (*s == "f" || *s == "false" || *s == "0") return false;
    Fail(i, "is not a boolean");
  }
  if (std::holds_alternative<double>(c)) Fail(i, "is not a boolean");
  Fail(i, "is NULL");
}

std::optional<std::int64_t> Row::GetOptInt(std::size_t i) const {
  if (IsNull(i)) return std::nullopt;
  return GetInt(i);
}

std::optional<double> Row::GetOptDouble(std::size_t i) const {
  if (IsNull(i)) return std::nullopt;
  return GetDouble(i);
}

std::optional<std::string> Row::GetOptString(std::size_t i) const {
  if (IsNull(i)) return std::nullopt;
  return GetString(i);
}

std::optional<bool> Row::GetOptBool(std::size_t i) const {
  if (IsNull(i)) return std::nullopt;
  return GetBool(i);
}

// ---- results ---------------------------------------------------------------------------------

Result::Result(std::shared_ptr<const detail::ResultMeta> meta, std::vector<Row> rows, std::int64_t affected)
    : meta_(std::move(meta)), rows_(std::move(rows)), affected_(affected) {}

const std::vector<std::string>& Result::columns() const {
  static const std::vector<std::string> kNone;
  if (meta_ == nullptr) return kNone;
  return meta_->columns;
}

const Row& Result::front() const {
  if (rows_.empty()) throw DbError(meta_ != nullptr ? meta_->query : "", "expected a row, got none");
  return rows_.front();
}

// ---- transactions ----------------------------------------------------------------------------

Tx::Tx(Backend backend, bool read_only, detail::ExecStats* stats)
    : backend_(backend), read_only_(read_only), stats_(stats) {}

Tx::~Tx() = default;

namespace {

void Notify(detail::ExecStats* stats, std::string_view name, std::chrono::steady_clock::time_point start, bool ok) {
  if (stats == nullptr || !stats->observer) return;
  try {
    stats->observer(QueryEvent{name, stats->backend, std::chrono::steady_clock::now() - start, ok});
  } catch (...) {
    // An observer is metrics plumbing; it must never turn a committed write into an error.
  }
}

}  // namespace

Result Tx::Exec(const Query& query, std::initializer_list<Param> params) {
  return Exec(query, std::span<const Param>(params.begin(), params.size()));
}

Result Tx::Exec(const Query& query, std::span<const Param> params) {
  if (failure_) {
    throw DbError(std::string(query.name),
                  "the transaction already failed; an earlier statement's error must propagate");
  }
  auto start = std::chrono::steady_clock::now();
  if (stats_ != nullptr) ++stats_->queries;
  try {
    Result result = DoExec(query, params);
    Notify(stats_, query.name, start, true);
    return result;
  } catch (...) {
    failure_ = std::current_exception();
    if (stats_ != nullptr) ++stats_->errors;
    Notify(stats_, query.name, start, false);
    throw;
  }
}

void Tx::ExecScript(const Query& script) {
  if (failure_) {
    throw DbError(std::string(script.name),
                  "the transaction already failed; an earlier statement's error must propagate");
  }
  auto start = std::chrono::steady_clock::now();
  if (stats_ != nullptr) ++stats_->queries;
  try {
    DoExecScript(script);
    Notify(stats_, script.name, start, true);
  } catch (...) {
    failure_ = std::current_exception();
    if (stats_ != nullptr) ++stats_->errors;
    Notify(stats_, script.name, start, false);
    throw;
  }
}

Db::~Db() = default;

// ---- URLs ------------------------------------------------------------------------------------

namespace {

constexpr std::string_view kUrlHelp = "use sqlite:PATH or postgres://user@host:port/dbname";

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

/// The scheme of "scheme:rest" (RFC 3986 syntax), or empty when url does not start with one.
std::string_view SchemeOf(std::string_view url) {
  if (url.empty() || std::isalpha(static_cast<unsigned char>(url[0])) == 0) return {};
  for (std::size_t i = 1; i < url.size(); ++i) {
    char c = url[i];
    if (c == ':') return url.substr(0, i);
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '+' && c != '-' && c != '.') return {};
  }
  return {};
}

}  // namespace

Backend BackendForUrl(std::string_view url) {
  if (url.empty()) throw std::invalid_argument("DATABASE_URL is empty; " + std::string(kUrlHelp));
  std::string scheme(SchemeOf(url));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (scheme.empty()) return Backend::kSqlite;  // a bare path
  if (scheme == "sqlite") {
    if (detail::SqlitePathForUrl(url).empty()) {
      throw std::invalid_argument("DATABASE_URL: sqlite: needs a file path; " + std::string(kUrlHelp));
    }
    return Backend::kSqlite;
  }
  if (scheme == "postgres" || scheme == "postgresql") {
    if (!StartsWith(url.substr(scheme.size()), "://")) {
      throw std::invalid_argument("DATABASE_URL: expected " + scheme + "://…; " + std::string(kUrlHelp));
    }
    return Backend::kPostgres;
  }
  // Only the scheme is quoted: the rest may hold a password.
  throw std::invalid_argument("DATABASE_URL: unsupported scheme '" + scheme + "'; " + std::string(kUrlHelp));
}

std::string detail::SqlitePathForUrl(std::string_view url) {
  std::string_view scheme = SchemeOf(url);
  if (scheme.empty()) return std::string(url);
  std::string_view rest = url.substr(scheme.size() + 1);
  if (rest == ":memory:") return std::string(rest);
  // sqlite:///abs/path and sqlite://relative/path, as other tools spell it.
  if (StartsWith(rest, "//")) rest.remove_prefix(2);
  return std::string(rest);
}

std::string RedactUrl(std::string_view url) {
  std::string out(url);
  // userinfo: scheme://user:password@host → scheme://user:***@host
  if (std::size_t scheme_end = out.find("://"); scheme_end != std::string::npos) {
    std::size_t authority = scheme_end + 3;
    std::size_t authority_end = out.find_first_of("/?#", authority);
    if (authority_end == std::string::npos) authority_end = out.size();
    std::size_t at = out.rfind('@', authority_end);
    if (at != std::string::npos && at >= authority) {
      std::size_t colon = out.find(':', authority);
      if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // password=… as a URL query parameter or a libpq keyword (possibly quoted).
  constexpr std::string_view kKey = "password=";
  for (std::size_t pos = out.find(kKey); pos != std::string::npos; pos = out.find(kKey, pos + 1)) {
    bool at_boundary = pos == 0 || out[pos - 1] == '?' || out[pos - 1] == '&' ||
                       std::isspace(static_cast<unsigned char>(out[pos - 1])) != 0;
    if (!at_boundary) continue;
    std::size_t value = pos + kKey.size();
    std::size_t end = value;
    if (end < out.size() && out[end] == '\'') {
      ++end;
      while (end < out.size() && out[end] != '\'') end += out[end] == '\\' ? 2 : 1;
      end = std::min(end + 1, out.size());
    } else {
      while (end < out.size() && out[end] != '&' && out[end] != '#' &&
             std::isspace(static_cast<unsigned char>(out[end])) == 0) {
        ++end;
      }
    }
    out.replace(value, end - value, "***");
  }
  return out;
}

// ---- helpers ---------------------------------------------------------------------------------

std::string detail::FormatDouble(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  std::array<char, 32> buf{};
  auto [ptr, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  return std::string(buf.data(), ptr);
}

void detail::CheckOptions(const DbOptions& options) {
  if (options.pool_size < 1 || options.pool_size > 1000) {
    throw std::invalid_argument("database pool_size must be between 1 and 1000");
  }
  if (options.statement_timeout.count() < 0 || options.acquire_timeout.count() < 0 ||
      options.busy_timeout.count() < 0 || options.connect_timeout.count() < 0) {
    throw std::invalid_argument("database timeouts must not be negative");
  }
}

std::unique_ptr<Db> OpenDb(const DbOptions& options) {
  detail::CheckOptions(options);
  switch (BackendForUrl(options.url)) {
    case Backend::kSqlite: return sqlite::OpenSqliteDb(options, detail::SqlitePathForUrl(options.url));
    case Backend::kPostgres: return postgres::OpenPostgresDb(options);
  }
  throw std::invalid_argument("DATABASE_URL: unknown backend");
}

}  // namespace studio::store
