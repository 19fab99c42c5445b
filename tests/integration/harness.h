// Test harness: runs the real e2b-gateway binary and the fake Fragments upstream on loopback,
// and speaks HTTP/1.1 to them over plain sockets.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>

namespace harness {

using namespace std::chrono_literals;

/// A child process, terminated (SIGTERM, then SIGKILL) when destroyed.
class Process {
 public:
  /// Runs `argv` with stdout and stderr both going to `output`, unless `error_output` is given.
  Process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
          const std::filesystem::path& output, const std::filesystem::path& error_output = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  /// Waits for the process to exit on its own; its status (128 + signal when killed by one), or
  /// -1 when it still runs after `timeout`.
  int wait(std::chrono::milliseconds timeout);
  /// Sends `signal` and waits for the exit status (-1 on timeout).
  int stop(int signal, std::chrono::milliseconds timeout = 10s);
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

/// A fresh temporary directory, removed at the end.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// The fake Fragments server from tests/fake_fragments.
class FakeUpstream {
 public:
  FakeUpstream();
  int port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  nlohmann::json stats() const;
  void reset() const;

 private:
  TempDir dir_;
  std::optional<Process> process_;
  int port_ = 0;
};

/// Settings a test may change in the generated config.yaml.
struct GatewayOptions {
  std::string upstream_base;
  std::string api_key = "sk-test-integration-0123456789abcdef";
  std::string extra_plugins_yaml;  ///< appended to the plugin list
  std::string extra_models_yaml;   ///< appended to the model list
  int port = 0;                    ///< listen.port; 0 = an ephemeral one
  std::string fragments_config_yaml = "{}";
  /// Replaces `base_url: <upstream_base>` in the upstream section when set: "  targets: …\n".
  std::string upstream_targets_yaml;
  /// Failover lines of the upstream section. By default one attempt and no circuit breaker, so
  /// that a test sees exactly the upstream failure it asked the fake for.
  std::string failover_yaml = "  max_attempts: 1\n  circuit_failures: 0\n";
  int header_timeout_ms = 30000;
  int keepalive_timeout_ms = 75000;
  int write_timeout_ms = 120000;
  int first_byte_timeout_ms = 10000;
  int idle_timeout_ms = 10000;
  long max_request_bytes = 8 * 1024 * 1024;
  int threads = 2;
  int shutdown_grace_ms = 5000;  ///< listen.shutdown_grace_ms
  std::string storage_path;      ///< SQLite file; empty = a fresh one in the gateway's temp dir
  std::string admin_token = "test-admin-token-0123456789";
  std::string log_format = "text";  ///< log.format
  bool log_access = true;           ///< log.access
  /// More admin tokens, written as admin.tokens: {label, token} each.
  std::vector<std::pair<std::string, std::string>> labelled_admin_tokens;
};

/// A running gateway on an ephemeral loopback port.
class Gateway {
 public:
  explicit Gateway(GatewayOptions options);
  /// Stops the gateway with SIGTERM unless it already stopped. Fails the current test when it does
  /// not exit in time (it is then killed), exits with a non-zero status, or logged a sanitizer report.
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;
  int port() const { return port_; }
  int admin_port() const { return admin_port_; }
  /// The gateway's process id, or -1 when it is not running.
  pid_t pid() const { return process_ ? process_->pid() : -1; }
  const std::string& key() const { return options_.api_key; }
  const std::string& admin_token() const { return options_.admin_token; }
  /// The SQLite file the gateway uses.
  std::string storage_path() const;
  /// Everything the gateway has logged so far.
  std::string log() const;
  /// Rewrites the gateway's config.yaml in place from `options` (same storage file unless
  /// `options` names one); the running gateway reads it on its next reload.
  void rewrite_config(GatewayOptions options);
  /// Replaces the gateway's config.yaml with `yaml` as it is.
  void write_config_text(const std::string& yaml) const;
  /// SIGTERM and wait; returns the exit status, or -1 when the gateway did not exit in time (it
  /// is then killed).
  int stop();
  /// Sends `signal` without waiting.
  void signal(int signal);
  /// SIGKILL: no chance to clean up.
  void kill();

 private:
  GatewayOptions options_;
  TempDir dir_;
  std::optional<Process> process_;
  int port_ = 0;
  int admin_port_ = 0;
};

struct Response {
  int status = 0;
  std::map<std::string, std::string> headers;  ///< lower-case names
  std::string body;                            ///< de-chunked
  bool complete = false;                       ///< the body ended properly (length or last chunk)
  bool connection_closed = false;
};

/// One client connection (blocking, with a receive timeout).
class Connection {
 public:
  explicit Connection(int port, std::chrono::milliseconds timeout = 15s);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  void send_raw(const std::string& bytes);
  /// Reads one full response.
  Response read_response();
  /// Reads whatever arrives within `timeout` (raw bytes).
  std::string read_some(std::chrono::milliseconds timeout = 2s);
  /// True when the server closed the connection (EOF) within `timeout`.
  bool closed_by_server(std::chrono::milliseconds timeout = 3s);
  int fd() const { return fd_; }
  /// Closes with RST instead of FIN.
  void abort();

 private:
  bool fill(std::chrono::milliseconds timeout);
  int fd_ = -1;
  std::string buffer_;
  std::chrono::milliseconds timeout_;
};

/// Builds a request with Content-Length.
std::string request_text(const std::string& method, const std::string& path,
                         const std::map<std::string, std::string>& headers, const std::string& body = "");

/// One request on a new connection.
Response http(int port, const std::string& method, const std::string& path,
              const std::map<std::string, std::string>& headers = {}, const std::string& body = "");

/// The bytes of a POST /v1/chat/completions with the given key and JSON body (Content-Length).
std::string chat_request_text(const std::string& key, const nlohmann::json& body,
                              const std::map<std::string, std::string>& extra_headers = {});

/// How many usage rows of the SQLite file `db` match the SQL condition `where`.
int usage_row_count(const std::string& db, const std::string& where = "1");

/// A request id no other request of the run uses, for an X-Request-ID header: "test-<what>-<n>".
std::string new_request_id(const std::string& what);

/// One column of the usage row of `request_id` in the SQLite file `db`, once it has been
/// committed ("" if it never is); fails the current test unless there is exactly one such row.
std::string usage_column(const std::string& db, const std::string& request_id, const std::string& column);

/// The access-log line of `request_id`, once the gateway has written it ("" if it never does).
std::string access_log_line(const Gateway& gateway, const std::string& request_id);

/// POST /v1/chat/completions with the given JSON body and key.
Response chat(int port, const std::string& key, const nlohmann::json& body,
              const std::map<std::string, std::string>& extra_headers = {});

/// The `data:` payloads of an SSE body, in order.
std::vector<std::string> sse_data(const std::string& body);

/// Concatenated delta.content of a streamed answer.
std::string streamed_content(const std::string& body);

/// `error.code` of an OpenAI-shaped error body, or "" when the body is not one.
std::string openai_error_code(const Response& response);

/// The `error` object of a stream that ended with an error event followed by `[DONE]`, or null
/// when the stream did not end that way.
nlohmann::json stream_error_event(const std::string& body);

/// The `long=N` reply of the fake upstream: "<tag> line 0000\n…", cut to `size` bytes.
std::string long_reply(const std::string& tag, std::size_t size);

/// A chat request whose last user message selects a fake-upstream scenario.
nlohmann::json scenario_request(const std::string& scenario, bool stream,
                                const std::string& model = "gpt-4o");

/// Waits until `predicate` holds or `timeout` passes.
bool eventually(const std::function<bool()>& predicate, std::chrono::milliseconds timeout = 5s);

std::filesystem::path source_dir();

/// How a command ended: its exit status (128 + signal when killed by one, -1 when it had to be
/// killed after its time ran out) and what it wrote.
struct CommandResult {
  int status = -1;
  std::string out;  ///< standard output, trailing newlines trimmed
  std::string err;  ///< standard error
};

/// Runs `shell_command` with /bin/sh; kills it if it runs longer than `timeout`.
CommandResult run_command(const std::string& shell_command, std::chrono::milliseconds timeout = 60s);

/// The first line of an AddressSanitizer, LeakSanitizer, UBSan or ThreadSanitizer report in `text`,
/// or "".
std::string sanitizer_report(const std::string& text);

/// Passes when `result` exited with `status` (any failure status 1-127 for kAnyFailure) and
/// wrote no sanitizer report.
inline constexpr int kAnyFailure = -2;
::testing::AssertionResult exited_with(const CommandResult& result, int status);

/// Runs the gateway CLI (`e2b-gateway ARGS --config CONFIG`).
CommandResult cli(const std::filesystem::path& config, const std::string& args);

/// Runs the gateway CLI, fails the current test unless it exits 0 with no sanitizer report, and
/// returns its standard output.
std::string cli_output(const std::filesystem::path& config, const std::string& args);

/// Runs one SQL query against a SQLite file and returns the first column of every row.
std::vector<std::string> sql_column(const std::string& db_path, const std::string& sql);

/// Runs SQL statements that change a SQLite file; throws on error.
void sql_exec(const std::string& db_path, const std::string& sql);

/// A test suite sharing one fake upstream and one gateway; `Configure::apply(GatewayOptions&)`
/// adjusts the gateway's settings. When they cannot start, every test of the suite fails with the
/// reason (gtest would otherwise skip them, and ctest count them as passed).
template <typename Configure>
class GatewaySuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    setup_error_.clear();
    try {
      upstream_ = std::make_unique<FakeUpstream>();
      GatewayOptions options;
      options.upstream_base = upstream_->base_url();
      Configure::apply(options);
      gateway_ = std::make_unique<Gateway>(options);
    } catch (const std::exception& e) {
      setup_error_ = e.what();
    }
  }
  static void TearDownTestSuite() {
    gateway_.reset();
    upstream_.reset();
  }
  void SetUp() override {
    ASSERT_TRUE(setup_error_.empty()) << "the suite could not start: " << setup_error_;
    ASSERT_NE(gateway_, nullptr) << "the suite has no gateway";
  }
  static inline std::unique_ptr<FakeUpstream> upstream_;
  static inline std::unique_ptr<Gateway> gateway_;
  static inline std::string setup_error_;
};

/// The shipped defaults, unchanged.
struct DefaultSettings {
  static void apply(GatewayOptions&) {}
};

}  // namespace harness
