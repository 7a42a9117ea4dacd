#include "store/postgres/pg_conn.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <system_error>
#include <type_traits>
#include <variant>
#include <vector>

#include "store/internal.hpp"

namespace studio::store::postgres {
namespace {

// Type OIDs from pg_type.h (stable since forever); only these get a non-text Cell.
constexpr Oid kBoolOid = 16;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;

// The server's limit on bind parameters per statement.
constexpr std::size_t kMaxParams = 65535;

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

std::string TrimEnd(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

void ReplaceAll(std::string& s, std::string_view from, std::string_view to) {
  if (from.empty()) return;
  for (std::size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    unsigned value = 0;
    if (s[i] == '%' && i + 2 < s.size() &&
        std::from_chars(s.data() + i + 1, s.data() + i + 3, value, 16).ptr == s.data() + i + 3) {
      out.push_back(static_cast<char>(value));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

/// The passwords a URL carries: userinfo (user:PASSWORD@host) and password=… parameters.
std::vector<std::string> PasswordsIn(std::string_view url) {
  std::vector<std::string> out;
  if (std::size_t scheme_end = url.find("://"); scheme_end != std::string_view::npos) {
    std::size_t authority = scheme_end + 3;
    std::size_t authority_end = std::min(url.find_first_of("/?#", authority), url.size());
    std::string_view auth = url.substr(authority, authority_end - authority);
    if (std::size_t at = auth.rfind('@'); at != std::string_view::npos) {
      if (std::size_t colon = auth.find(':'); colon != std::string_view::npos && colon < at) {
        out.emplace_back(auth.substr(colon + 1, at - colon - 1));
      }
    }
  }
  constexpr std::string_view kKey = "password=";
  for (std::size_t pos = url.find(kKey); pos != std::string_view::npos; pos = url.find(kKey, pos + 1)) {
    std::size_t value = pos + kKey.size();
    std::size_t end = std::min(url.find_first_of("&# ", value), url.size());
    out.emplace_back(url.substr(value, end - value));
  }
  std::size_t raw_count = out.size();
  for (std::size_t i = 0; i < raw_count; ++i) out.push_back(PercentDecode(out[i]));
  // Longest first, so a password that contains another is replaced whole.
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  return out;
}

bool IsConnectionState(std::string_view state) {
  // Class 08 is "connection exception", except 08P01 (protocol violation), which is what a
  // wrong parameter count produces: a bug, not an outage. 57P0x: shutdown, crash, cannot
  // connect now, database dropped, idle session timeout.
  return (state.substr(0, 2) == "08" && state != "08P01") || state.substr(0, 3) == "57P";
}

bool IsBusyState(std::string_view state) {
  return state == "57014"      // statement timeout (or a cancel)
         || state == "40001"   // serialization failure
         || state == "40P01"   // deadlock
         || state == "55P03"   // lock_timeout
         || state == "53300";  // too many connections
}

/// The value of a parameter as text, or nullptr for NULL. `storage` keeps converted numbers alive.
const char* ParamText(const Query& query, std::size_t i, const Param& param, std::string& storage) {
  return std::visit(
      [&](const auto& v) -> const char* {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::nullptr_t>) {
          return nullptr;
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          storage = std::to_string(v);
          return storage.c_str();
        } else if constexpr (std::is_same_v<T, double>) {
          storage = detail::FormatDouble(v);
          return storage.c_str();
        } else if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else {
          // Text parameters travel as C strings: a NUL would silently truncate the value.
          if (v.find('\0') != std::string::npos) {
            throw DbError(std::string(query.name), "parameter $" + std::to_string(i + 1) + " contains a NUL byte");
          }
          return v.c_str();
        }
      },
      param.value());
}

template <class T>
bool ParseNumber(const char* s, int len, T& out) {
  auto [ptr, ec] = std::from_chars(s, s + len, out);
  return ec == std::errc() && ptr == s + len;
}

Row::Cell ReadCell(const PGresult* r, int row, int col, const std::string& query) {
  if (PQgetisnull(r, row, col) != 0) return nullptr;
  const char* text = PQgetvalue(r, row, col);
  int len = PQgetlength(r, row, col);
  switch (PQftype(r, col)) {
    case kBoolOid: return std::int64_t{text[0] == 't' ? 1 : 0};
    case kInt2Oid:
    case kInt4Oid:
    case kInt8Oid: {
      std::int64_t v = 0;
      if (!ParseNumber(text, len, v)) throw DbError(query, "unparseable integer from the server");
      return v;
    }
    case kFloat4Oid:
    case kFloat8Oid: {
      // from_chars reads PostgreSQL's NaN / Infinity / -Infinity spellings too.
      double v = 0;
      if (!ParseNumber(text, len, v)) throw DbError(query, "unparseable float from the server");
      return v;
    }
    default: return std::string(text, static_cast<std::size_t>(len));
  }
}

/// Rows changed, for INSERT/UPDATE/DELETE/MERGE only: PQcmdTuples also counts SELECT rows,
/// which db.hpp promises to report as 0.
std::int64_t Affected(PGresult* r) {
  std::string_view status = PQcmdStatus(r);
  bool dml = status.starts_with("INSERT ") || status.starts_with("UPDATE ") || status.starts_with("DELETE ") ||
             status.starts_with("MERGE ");
  if (!dml) return 0;
  std::string_view tuples = PQcmdTuples(r);
  std::int64_t n = 0;
  std::from_chars(tuples.data(), tuples.data() + tuples.size(), n);
  return n;
}

}  // namespace

std::string ScrubSecrets(std::string message, std::string_view url) {
  ReplaceAll(message, url, RedactUrl(url));
  for (const std::string& password : PasswordsIn(url)) ReplaceAll(message, password, "***");
  return message;
}

void ValidateUrl(std::string_view url) {
  std::string copy(url);
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(copy.c_str(), &error);
  if (options != nullptr) {
    PQconninfoFree(options);
    return;
  }
  std::string message = error != nullptr ? TrimEnd(error) : "out of memory";
  PQfreemem(error);
  throw std::invalid_argument("DATABASE_URL " + RedactUrl(url) +
                              " is not a valid PostgreSQL URL: " + ScrubSecrets(message, url));
}

Connection::Connection(const ConnectSettings& settings) : url_(settings.url) {
  // libpq counts whole seconds (and treats 1 as 2); 0 means wait forever, as for libpq.
  std::int64_t ms = settings.connect_timeout.count();
  std::string connect_timeout = std::to_string(ms == 0 ? 0 : std::max<std::int64_t>(2, (ms + 999) / 1000));
  // Later entries override what the URL says; earlier ones are defaults the URL may override.
  const char* keys[] = {"fallback_application_name", "dbname", "connect_timeout", "client_encoding", nullptr};
  const char* values[] = {"studio", url_.c_str(), connect_timeout.c_str(), "UTF8", nullptr};
  conn_ = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn_ == nullptr) {
    throw DbUnavailable(std::string(detail::kUnreachableDetail), "connect", "libpq: out of memory");
  }
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string message = ScrubSecrets(TrimEnd(PQerrorMessage(conn_)), url_);
    PQfinish(conn_);
    conn_ = nullptr;
    throw DbUnavailable(std::string(detail::kUnreachableDetail), "connect", message);
  }
  // NOTICEs (e.g. "relation already exists, skipping") would otherwise go to stderr.
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
  try {
    // Per session, so it also covers statements outside our transactions; a Write can still
    // lower or lift it with SET LOCAL (migrations do).
    ExecScript("connect.setup", "SET statement_timeout = " + std::to_string(settings.statement_timeout.count()));
  } catch (...) {
    PQfinish(conn_);
    conn_ = nullptr;
    throw;
  }
}

Connection::~Connection() {
  if (conn_ != nullptr) PQfinish(conn_);
}

bool Connection::broken() const { return conn_ == nullptr || PQstatus(conn_) == CONNECTION_BAD; }

bool Connection::idle() const { return conn_ != nullptr && PQtransactionStatus(conn_) == PQTRANS_IDLE; }

namespace {

/// Maps a failed PGresult (or a missing one: connection lost, out of memory) onto the store's
/// errors. The driver message is the primary one only: DETAIL lines can contain row values.
[[noreturn]] void ThrowFailure(std::string_view query, const PGresult* r, PGconn* conn, std::string_view url) {
  const char* state_field = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  const char* primary = r != nullptr ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string state = state_field != nullptr ? state_field : "";
  std::string message = ScrubSecrets(TrimEnd(primary != nullptr ? primary : PQerrorMessage(conn)), url);
  std::string name(query);

  if (state == "23505") throw ConstraintViolation(ConstraintKind::kUnique, name, message);
  if (state == "23503") throw ConstraintViolation(ConstraintKind::kForeignKey, name, message);
  if (IsBusyState(state)) throw DbUnavailable(std::string(detail::kBusyDetail), name, message);
  // No SQLSTATE on a dead connection: libpq itself noticed the socket closing.
  if (IsConnectionState(state) || PQstatus(conn) == CONNECTION_BAD) {
    throw DbUnavailable(std::string(detail::kUnreachableDetail), name, message);
  }
  throw DbError(name, message, state);
}

bool Succeeded(const PGresult* r) {
  if (r == nullptr) return false;
  ExecStatusType status = PQresultStatus(r);
  return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY;
}

}  // namespace

Result Connection::Exec(const Query& query, std::span<const Param> params) {
  if (params.size() > kMaxParams) throw DbError(std::string(query.name), "too many parameters");
  std::vector<std::string> storage(params.size());
  std::vector<const char*> values(params.size());
  for (std::size_t i = 0; i < params.size(); ++i) values[i] = ParamText(query, i, params[i], storage[i]);

  // Query strings are string_views: libpq needs them NUL-terminated.
  std::string sql(query.postgres);
  // Parameter types are left to the server (paramTypes = null); everything travels as text.
  ResultPtr r(PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr, values.data(), nullptr,
                           nullptr, /*resultFormat=text*/ 0));
  if (!Succeeded(r.get())) ThrowFailure(query.name, r.get(), conn_, url_);

  auto meta = std::make_shared<detail::ResultMeta>();
  meta->query = std::string(query.name);
  int columns = PQnfields(r.get());
  meta->columns.reserve(static_cast<std::size_t>(columns));
  for (int c = 0; c < columns; ++c) meta->columns.emplace_back(PQfname(r.get(), c));
  int count = PQntuples(r.get());
  std::vector<Row> rows;
  rows.reserve(static_cast<std::size_t>(count));
  for (int row = 0; row < count; ++row) {
    std::vector<Row::Cell> cells;
    cells.reserve(static_cast<std::size_t>(columns));
    for (int c = 0; c < columns; ++c) cells.push_back(ReadCell(r.get(), row, c, meta->query));
    rows.emplace_back(meta, std::move(cells));
  }
  std::int64_t affected = Affected(r.get());
  return Result(std::move(meta), std::move(rows), affected);
}

void Connection::ExecScript(std::string_view name, std::string_view sql) {
  std::string text(sql);
  // PQexec runs every statement and returns the last result, or the first failure.
  ResultPtr r(PQexec(conn_, text.c_str()));
  if (!Succeeded(r.get())) ThrowFailure(name, r.get(), conn_, url_);
}

}  // namespace studio::store::postgres
