#include "store/engine/postgres/postgres_engine.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <libpq-fe.h>

#include <cstring>
#include <map>

#include "core/log.hpp"
#include "store/engine/postgres/detail/schema.hpp"

namespace store::engine::postgres {

namespace {

constexpr const char* kUnavailable = "the store is temporarily unavailable; please try again";
constexpr const char* kIntegrity = "stored data failed an integrity check";
constexpr const char* kInternal = "internal error in the store";
constexpr const char* kBadUri = "the database URI is not valid";

// Type OIDs of the columns our queries return (pg_type.dat; stable across releases).
constexpr Oid kBool = 16, kBytea = 17, kName = 19, kInt8 = 20, kInt2 = 21, kInt4 = 23, kText = 25,
              kVarchar = 1043, kVoid = 2278;

struct ResultDeleter {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

struct ConnDeleter {
  void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnDeleter>;

struct ConnInfoDeleter {
  void operator()(PQconninfoOption* o) const noexcept { PQconninfoFree(o); }
};

std::uint64_t read_be(const char* p, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

// SQLSTATE classes, as the engine seam reports them.
core::Error classify(const char* sqlstate, std::string detail) {
  const std::string_view state = sqlstate != nullptr ? sqlstate : "";
  if (state == "23505") return core::Error(core::ErrorKind::conflict, kInternal, std::move(detail));
  if (state == "23503")
    return core::Error(core::ErrorKind::not_found, kInternal, std::move(detail));
  if (state == "23514" || state == "23502" || state.starts_with("22")) {
    return core::Error(core::ErrorKind::invalid_input, kInternal, std::move(detail));
  }
  // Connection problems (08), serialisation failures and deadlocks (40), insufficient
  // resources (53: disk full, too many connections), operator intervention (57: shutdown,
  // statement timeout), system errors (58).
  if (state.starts_with("08") || state.starts_with("40") || state.starts_with("53") ||
      state.starts_with("57") || state.starts_with("58") || state.empty()) {
    return core::Error(core::ErrorKind::unavailable, kUnavailable, std::move(detail));
  }
  if (state.starts_with("XX")) {
    return core::Error(core::ErrorKind::integrity, kIntegrity, std::move(detail));
  }
  return core::Error(core::ErrorKind::internal, kInternal, std::move(detail));
}

class PgConnection final : public Connection {
 public:
  explicit PgConnection(ConnPtr conn) : conn_(std::move(conn)) {}

  Dialect dialect() const noexcept override { return Dialect::postgres; }

  using Connection::execute;
  using Connection::query;
  core::Result<Rows> query(std::string_view sql, std::span<const Param> params) override {
    auto res = run(sql, params);
    if (!res) return core::fail(std::move(res).error());
    return read_rows(res->get());
  }

  core::Result<std::int64_t> execute(std::string_view sql, std::span<const Param> params) override {
    auto res = run(sql, params);
    if (!res) return core::fail(std::move(res).error());
    const char* tuples = PQcmdTuples(res->get());
    if (tuples == nullptr || *tuples == '\0') return std::int64_t{0};
    return std::stoll(tuples);
  }

  core::Status execute_script(const char* sql) override {
    retryable_ = false;
    if (broken_) return lost();
    ResultPtr res(PQexec(conn_.get(), sql));
    if (PQresultStatus(res.get()) != PGRES_COMMAND_OK) return fail_from(res.get(), "script");
    return core::ok();
  }

  core::Status begin(TxMode mode) override {
    in_tx_ = false;
    auto s = simple(mode == TxMode::read ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
                                         : "BEGIN ISOLATION LEVEL READ COMMITTED");
    if (s) in_tx_ = true;
    return s;
  }

  core::Status commit() override {
    committing_ = true;
    auto s = simple("COMMIT");
    committing_ = false;
    in_tx_ = false;
    if (!s) {
      // A COMMIT that failed on a lost connection has an unknown outcome: never retried
      // here. One that failed on a serialisation check did not commit: retryable.
      retryable_ = retryable_ && !broken_;
    }
    return s;
  }

  void rollback() noexcept override {
    if (!in_tx_) return;
    in_tx_ = false;
    if (broken_) return;
    ResultPtr res(PQexec(conn_.get(), "ROLLBACK"));
    if (PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
      spdlog::error("store: rollback failed: {}", core::log_safe(PQerrorMessage(conn_.get())));
      broken_ = true;
    }
  }

  bool in_transaction() const noexcept override { return in_tx_; }

  core::Status lock_for_transaction(std::int64_t lock_id) override {
    auto rows = query("SELECT pg_advisory_xact_lock(?1)", {Param{lock_id}});
    if (!rows) return core::fail(std::move(rows).error());
    return core::ok();
  }

  bool last_failure_retryable() const noexcept override { return retryable_; }
  bool broken() const noexcept override { return broken_; }

 private:
  core::Unexpected<core::Error> fail_from(PGresult* res, std::string_view what) {
    const char* state = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
    std::string message = res != nullptr ? PQresultErrorMessage(res) : "";
    if (message.empty()) message = PQerrorMessage(conn_.get());
    if (PQstatus(conn_.get()) != CONNECTION_OK) broken_ = true;
    const std::string_view s = state != nullptr ? state : "";
    // Serialisation failures and deadlocks: the transaction did nothing, run it again. A
    // lost connection before COMMIT: nothing committed, run it again on a new connection.
    retryable_ = s == "40001" || s == "40P01" || (broken_ && !committing_);
    return core::fail(classify(
        state, fmt::format("postgresql {}: {}{}", what, s.empty() ? "" : fmt::format("[{}] ", s),
                           core::log_safe(message, 400))));
  }

  core::Status simple(const char* sql) {
    retryable_ = false;
    if (broken_) return lost();
    ResultPtr res(PQexec(conn_.get(), sql));
    if (PQresultStatus(res.get()) != PGRES_COMMAND_OK) return fail_from(res.get(), sql);
    return core::ok();
  }

  core::Unexpected<core::Error> lost() {
    retryable_ = !committing_;
    return core::fail(core::ErrorKind::unavailable, kUnavailable,
                      "postgresql: connection lost earlier");
  }

  core::Result<std::string> statement_name(std::string_view sql) {
    auto it = prepared_.find(sql);
    if (it != prepared_.end()) return it->second;
    std::string name = fmt::format("s{}", prepared_.size() + 1);
    const std::string text = to_postgres_placeholders(sql);
    ResultPtr res(PQprepare(conn_.get(), name.c_str(), text.c_str(), 0, nullptr));
    if (PQresultStatus(res.get()) != PGRES_COMMAND_OK) return fail_from(res.get(), "prepare");
    prepared_.emplace(std::string(sql), name);
    return name;
  }

  core::Result<ResultPtr> run(std::string_view sql, std::span<const Param> params) {
    retryable_ = false;
    if (broken_) return lost();
    auto name = statement_name(sql);
    if (!name) return core::fail(std::move(name).error());

    const std::size_t n = params.size();
    std::vector<std::string> numbers(n);
    std::vector<const char*> values(n, nullptr);
    std::vector<int> lengths(n, 0);
    std::vector<int> formats(n, 0);
    for (std::size_t i = 0; i < n; ++i) {
      std::visit(
          [&](const auto& value) {
            using T = std::decay_t<decltype(value)>;
            if constexpr (std::is_same_v<T, std::nullptr_t>) {
              values[i] = nullptr;
            } else if constexpr (std::is_same_v<T, std::int64_t>) {
              // Text form: right whatever integer type the server inferred.
              numbers[i] = std::to_string(value);
              values[i] = numbers[i].c_str();
            } else if constexpr (std::is_same_v<T, std::string_view>) {
              // Binary form: exact length; the server still checks the encoding (a NUL
              // byte or invalid UTF-8 is refused, as invalid_input).
              static const char kEmpty = 0;
              values[i] = value.empty() ? &kEmpty : value.data();
              lengths[i] = static_cast<int>(value.size());
              formats[i] = 1;
            } else {
              static const char kEmpty = 0;
              values[i] = value.empty() ? &kEmpty : reinterpret_cast<const char*>(value.data());
              lengths[i] = static_cast<int>(value.size());
              formats[i] = 1;
            }
          },
          params[i]);
    }
    ResultPtr res(PQexecPrepared(conn_.get(), name->c_str(), static_cast<int>(n), values.data(),
                                 lengths.data(), formats.data(), /*resultFormat=*/1));
    const auto status = PQresultStatus(res.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      return fail_from(res.get(), "statement");
    }
    return res;
  }

  core::Result<Rows> read_rows(PGresult* res) {
    const int nrows = PQntuples(res);
    const int ncols = PQnfields(res);
    Rows rows;
    rows.reserve(static_cast<std::size_t>(nrows));
    for (int r = 0; r < nrows; ++r) {
      std::vector<Value> columns;
      columns.reserve(static_cast<std::size_t>(ncols));
      for (int c = 0; c < ncols; ++c) {
        if (PQgetisnull(res, r, c)) {
          columns.emplace_back(std::monostate{});
          continue;
        }
        const char* data = PQgetvalue(res, r, c);
        const int len = PQgetlength(res, r, c);
        const Oid type = PQftype(res, c);
        auto integer = [&](int width) -> core::Result<std::int64_t> {
          if (len != width) {
            return core::fail(core::ErrorKind::integrity, kIntegrity,
                              "postgresql: integer of unexpected width");
          }
          const std::uint64_t raw = read_be(data, width);
          const int shift = 64 - 8 * width;  // sign-extend
          return static_cast<std::int64_t>(raw << shift) >> shift;
        };
        switch (type) {
          case kInt8:
          case kInt4:
          case kInt2: {
            auto v = integer(type == kInt8 ? 8 : type == kInt4 ? 4 : 2);
            if (!v) return core::fail(std::move(v).error());
            columns.emplace_back(*v);
            break;
          }
          case kBool:
            columns.emplace_back(std::int64_t{len == 1 && data[0] != 0});
            break;
          case kText:
          case kVarchar:
          case kName:
            columns.emplace_back(std::string(data, static_cast<std::size_t>(len)));
            break;
          case kBytea: {
            const auto* p = reinterpret_cast<const std::uint8_t*>(data);
            columns.emplace_back(std::vector<std::uint8_t>(p, p + len));
            break;
          }
          case kVoid:
            columns.emplace_back(std::monostate{});
            break;
          default:
            return core::fail(core::ErrorKind::internal, kInternal,
                              fmt::format("postgresql: column of unexpected type {}", type));
        }
      }
      rows.emplace_back(std::move(columns));
    }
    return rows;
  }

  ConnPtr conn_;
  std::map<std::string, std::string, std::less<>> prepared_;
  bool in_tx_ = false;
  bool committing_ = false;
  bool retryable_ = false;
  bool broken_ = false;
};

class PgConnector final : public Connector {
 public:
  explicit PgConnector(Options options) : options_(std::move(options)) {}
  Dialect dialect() const noexcept override { return Dialect::postgres; }
  std::string describe() const override { return describe_uri(options_.uri); }

  core::Result<std::unique_ptr<Connection>> connect_blocking() override {
    const std::string timeout = std::to_string(options_.connect_timeout_s);
    const std::string settings =
        fmt::format("-c statement_timeout={} -c idle_in_transaction_session_timeout=60000",
                    options_.statement_timeout_ms);
    const std::string password(options_.password.as_string_view());
    std::vector<const char*> keys = {"dbname",          "connect_timeout", "application_name",
                                     "client_encoding", "options",         "keepalives_idle"};
    std::vector<const char*> values = {
        options_.uri.c_str(), timeout.c_str(), "sealpost", "UTF8", settings.c_str(), "30"};
    if (!options_.password.empty()) {
      keys.push_back("password");
      values.push_back(password.c_str());
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);
    // expand_dbname: the URI's own parameters (host, port, sslmode, ...) apply; ours, listed
    // after it, win where both name the same one.
    ConnPtr conn(PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1));
    core::secure_wipe(const_cast<char*>(password.data()), password.size());
    if (!conn) {
      return core::fail(core::ErrorKind::unavailable, kUnavailable,
                        "postgresql: out of memory connecting");
    }
    if (PQstatus(conn.get()) != CONNECTION_OK) {
      return core::fail(core::ErrorKind::unavailable, kUnavailable,
                        fmt::format("postgresql: cannot connect to {}: {}", describe(),
                                    core::log_safe(PQerrorMessage(conn.get()), 400)));
    }
    // Server notices and warnings ("terminating connection due to ...") go through our
    // logger, escaped, instead of libpq's default of printing them raw to stderr.
    PQsetNoticeProcessor(
        conn.get(),
        [](void*, const char* message) {
          spdlog::warn("event=database_notice detail={}", core::log_safe(message, 400));
        },
        nullptr);
    return std::unique_ptr<Connection>(new PgConnection(std::move(conn)));
  }

 private:
  Options options_;
};

// Options hold a secret, so they are not copyable: an explicit copy for each connector.
Options copy_of(const Options& options) {
  Options copy;
  copy.uri = options.uri;
  copy.password = core::SecretBytes(options.password.as_string_view());
  copy.statement_timeout_ms = options.statement_timeout_ms;
  copy.connect_timeout_s = options.connect_timeout_s;
  return copy;
}

}  // namespace

core::Status check_uri(const std::string& uri) {
  if (!(uri.starts_with("postgresql://") || uri.starts_with("postgres://"))) {
    return core::fail(core::ErrorKind::invalid_input,
                      "the database must be a postgresql:// URI (or omitted for SQLite)",
                      "not a postgresql URI");
  }
  char* error = nullptr;
  std::unique_ptr<PQconninfoOption, ConnInfoDeleter> options(PQconninfoParse(uri.c_str(), &error));
  if (!options) {
    std::string detail = error != nullptr ? error : "unparseable";
    PQfreemem(error);
    return core::fail(core::ErrorKind::invalid_input,
                      fmt::format("{}: {}", kBadUri, core::log_safe(detail)), "PQconninfoParse");
  }
  for (auto* o = options.get(); o->keyword != nullptr; ++o) {
    if (std::strcmp(o->keyword, "password") == 0 && o->val != nullptr && *o->val != '\0') {
      return core::fail(core::ErrorKind::invalid_input,
                        "the database URI must not contain a password: put it in "
                        "secrets/database-password or a PGPASSFILE",
                        "password in URI");
    }
  }
  return core::ok();
}

std::string describe_uri(const std::string& uri) {
  char* error = nullptr;
  std::unique_ptr<PQconninfoOption, ConnInfoDeleter> options(PQconninfoParse(uri.c_str(), &error));
  PQfreemem(error);
  if (!options) return "postgresql (unparseable URI)";
  std::string host, port, dbname, user;
  for (auto* o = options.get(); o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    const std::string_view key = o->keyword;
    if (key == "host" || key == "hostaddr") {
      if (host.empty()) host = o->val;
    } else if (key == "port") {
      port = o->val;
    } else if (key == "dbname") {
      dbname = o->val;
    } else if (key == "user") {
      user = o->val;
    }
  }
  return core::log_safe(fmt::format("postgresql://{}{}{}{}/{}", user, user.empty() ? "" : "@", host,
                                    port.empty() ? "" : ":" + port, dbname));
}

core::Result<std::unique_ptr<Connector>> prepare_blocking(const Options& options) {
  if (auto s = check_uri(options.uri); !s) return core::fail(std::move(s).error());
  auto connector = std::make_unique<PgConnector>(copy_of(options));
  auto conn = connector->connect_blocking();
  if (!conn) return core::fail(std::move(conn).error());
  if (auto s = detail::migrate_blocking(**conn); !s) return core::fail(std::move(s).error());
  return std::unique_ptr<Connector>(std::move(connector));
}

core::Result<std::unique_ptr<Connection>> connect_only_blocking(const Options& options) {
  if (auto s = check_uri(options.uri); !s) return core::fail(std::move(s).error());
  return PgConnector(copy_of(options)).connect_blocking();
}

int schema_version() { return detail::schema_version(); }

}  // namespace store::engine::postgres
