// The integration-test harness: processes, the fake upstream, the gateway, SQLite and log helpers
// (the HTTP client side is in harness_http.cc).
#include "harness.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace harness {

std::filesystem::path source_dir() {
  return GATEWAY_SOURCE_DIR;
}

Process::Process(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                 const std::filesystem::path& output, const std::filesystem::path& error_output) {
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    const int fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    if (!error_output.empty()) {
      const int error_fd = ::open(error_output.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (error_fd >= 0) dup2(error_fd, 2);
    }
    for (const char* name :
         {"E2B_PORT", "E2B_HOST", "E2B_BASE_URL", "E2B_API_KEY", "E2B_CONFIG", "E2B_LOG_LEVEL"}) {
      unsetenv(name);
    }
    for (const auto& [key, value] : env) setenv(key.c_str(), value.c_str(), 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
}

int Process::wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(10ms);
  }
}

int Process::stop(int signal, std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, signal);
  return wait(timeout);
}

Process::~Process() {
  if (pid_ <= 0) return;
  if (stop(SIGTERM, 5s) == -1 && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

TempDir::TempDir() {
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() /
          ("e2b-gw-test-" + std::to_string(rd()) + std::to_string(getpid()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

bool eventually(const std::function<bool()>& predicate, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return predicate();
}

namespace {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

FakeUpstream::FakeUpstream() {
  const auto port_file = dir_.path() / "port";
  process_.emplace(
      std::vector<std::string>{"python3", (source_dir() / "tests/fake_fragments/fake_fragments.py").string(),
                               "--host", "127.0.0.1", "--port", "0", "--fixtures",
                               (source_dir() / "tests/fixtures/fragments-wire").string(), "--port-file",
                               port_file.string()},
      std::map<std::string, std::string>{}, dir_.path() / "fake.log");
  if (!eventually([&] { return std::filesystem::exists(port_file); }, 10s)) {
    throw std::runtime_error("fake upstream did not start: " + read_file(dir_.path() / "fake.log"));
  }
  port_ = std::stoi(read_file(port_file));
}

nlohmann::json FakeUpstream::stats() const {
  const auto r = http(port_, "GET", "/_stats");
  return nlohmann::json::parse(r.body);
}

void FakeUpstream::reset() const {
  http(port_, "POST", "/_reset");
}

namespace {

/// The config.yaml the harness writes for `options`, with its database at `storage_path`.
std::string config_yaml(const GatewayOptions& options, const std::string& storage_path) {
  std::ostringstream yaml;
  yaml << "listen:\n  host: 127.0.0.1\n  port: " << options.port << "\n  threads: " << options.threads
       << "\n  max_request_bytes: " << options.max_request_bytes
       << "\n  header_timeout_ms: " << options.header_timeout_ms
       << "\n  keepalive_timeout_ms: " << options.keepalive_timeout_ms
       << "\n  write_timeout_ms: " << options.write_timeout_ms
       << "\n  shutdown_grace_ms: " << options.shutdown_grace_ms << "\n"
       << "upstream:\n"
       << (options.upstream_targets_yaml.empty() ? "  base_url: " + options.upstream_base + "\n"
                                                 : options.upstream_targets_yaml)
       << "  connect_timeout_ms: 2000\n  first_byte_timeout_ms: " << options.first_byte_timeout_ms
       << "\n  idle_timeout_ms: " << options.idle_timeout_ms << "\n"
       << options.failover_yaml << "log:\n  level: info\n  format: " << options.log_format
       << "\n  access: " << (options.log_access ? "true" : "false") << "\n"
       << "admin:\n  listen: 127.0.0.1:0\n  token: '" << options.admin_token << "'\n";
  if (!options.labelled_admin_tokens.empty()) {
    yaml << "  tokens:\n";
    for (const auto& [label, token] : options.labelled_admin_tokens)
      yaml << "    - {label: '" << label << "', token: '" << token << "'}\n";
  }
  yaml << "storage:\n  path: " << storage_path << "\n"
       << "plugin_dir: " << GATEWAY_PLUGIN_DIR << "\n"
       << "plugins:\n"
       << "  - name: cors\n"
       << "  - name: auth\n    config:\n      env_key: ''\n      keys: ['" << options.api_key
       << "', {key: sk-test-limited-0123456789, user: limited@example.com, models: [gpt-4o-mini]}]\n"
       << "  - name: fragments\n    config: " << options.fragments_config_yaml << "\n"
       << options.extra_plugins_yaml << "providers:\n  openai: {name: OpenAI}\n  ollama: {name: Ollama}\n"
       << "models:\n"
       << "  - {id: gpt-4o, provider_id: openai, name: GPT-4o, multimodal: true, instructions: Be brief.}\n"
       << "  - {id: gpt-4o-mini, provider_id: openai, name: GPT-4o Mini}\n"
       << "  - {id: claude-sonnet-4-5-20250929, provider_id: openai, name: Claude, aliases: "
          "[claude-3-7-sonnet-latest]}\n"
       << "  - {id: llama3.1, provider_id: ollama, name: Llama}\n"
       << options.extra_models_yaml;
  return yaml.str();
}

}  // namespace

Gateway::Gateway(GatewayOptions options) : options_(std::move(options)) {
  write_config_text(config_yaml(options_, storage_path()));
  const auto config = dir_.path() / "config.yaml";
  process_.emplace(std::vector<std::string>{GATEWAY_BINARY, "serve", "--config", config.string()},
                   std::map<std::string, std::string>{}, dir_.path() / "gateway.log");
  int early_exit = -1;
  if (!eventually(
          [&] {
            if (early_exit = process_->wait(0ms); early_exit != -1) return true;
            const auto text = log();
            // `message_start` begins an info line in either log format.
            auto port_after = [&](const std::string& message_start, const std::string& marker) {
              auto line = text.find("info " + message_start);
              if (line == std::string::npos)
                line = text.find("\"level\":\"info\",\"message\":\"" + message_start);
              const auto at = line == std::string::npos ? line : text.find(marker, line);
              if (at == std::string::npos) return 0;
              return std::atoi(text.c_str() + text.find(':', at + marker.size()) + 1);
            };
            port_ = port_after("e2b-gateway ", " listening on ");
            admin_port_ = port_after("admin API ", " listening on ");
            return port_ > 0 && admin_port_ > 0;
          },
          10s)) {
    throw std::runtime_error("gateway did not start: " + log());
  }
  if (early_exit != -1) {
    throw std::runtime_error("gateway exited with status " + std::to_string(early_exit) +
                             " before listening: " + log());
  }
}

void Gateway::rewrite_config(GatewayOptions options) {
  if (options.storage_path.empty()) options.storage_path = storage_path();
  options_ = std::move(options);
  write_config_text(config_yaml(options_, storage_path()));
}

void Gateway::write_config_text(const std::string& yaml) const {
  // Written beside it and renamed: the gateway never reads half a file.
  const auto config = dir_.path() / "config.yaml";
  const auto partial = dir_.path() / "config.yaml.partial";
  std::ofstream(partial) << yaml;
  std::filesystem::rename(partial, config);
}

namespace {

/// How long a gateway may take to exit after SIGTERM: its grace for answers in flight, and more.
std::chrono::milliseconds stop_timeout(const GatewayOptions& options) {
  return std::chrono::milliseconds(options.shutdown_grace_ms) + 10s;
}

}  // namespace

Gateway::~Gateway() {
  if (process_ && process_->running()) {
    const int status = stop();
    if (status == -1) {
      ADD_FAILURE() << "the gateway did not exit within " << stop_timeout(options_).count()
                    << " ms of SIGTERM and was killed";
    } else if (status != 0) {
      ADD_FAILURE() << "the gateway exited with status " << status << " (crash?)";
    }
  }
  const auto text = log();
  if (::testing::Test::HasFailure()) {  // the gateway's side of the story, for diagnosis
    std::cerr << "---- gateway log (last 4 KiB) ----\n"
              << text.substr(text.size() > 4096 ? text.size() - 4096 : 0) << "\n----\n";
  }
  if (const auto report = sanitizer_report(text); !report.empty()) {
    ADD_FAILURE() << "the gateway reported: " << report << "\n" << text;
  }
}

std::string Gateway::storage_path() const {
  return options_.storage_path.empty() ? (dir_.path() / "gateway.db").string() : options_.storage_path;
}

std::string Gateway::log() const {
  return read_file(dir_.path() / "gateway.log");
}

int Gateway::stop() {
  if (!process_ || !process_->running()) return -1;
  const int status = process_->stop(SIGTERM, stop_timeout(options_));
  if (status == -1) process_->stop(SIGKILL);
  return status;
}

void Gateway::signal(int signal) {
  ::kill(process_->pid(), signal);
}

void Gateway::kill() {
  if (process_ && process_->running()) process_->stop(SIGKILL);
}

std::vector<std::string> sql_column(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::vector<std::string> out;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    throw std::runtime_error("cannot open " + db_path);
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK) {
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      const auto* text = sqlite3_column_text(stmt, 0);
      out.emplace_back(text ? reinterpret_cast<const char*>(text) : "");
    }
  }
  const std::string error = stmt ? "" : sqlite3_errmsg(db);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  if (!error.empty()) throw std::runtime_error(error);
  return out;
}

void sql_exec(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    throw std::runtime_error("cannot open " + db_path);
  }
  char* message = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
  const std::string error = message ? message : "";
  sqlite3_free(message);
  sqlite3_close(db);
  if (rc != SQLITE_OK) throw std::runtime_error(sql + ": " + error);
}

int usage_row_count(const std::string& db, const std::string& where) {
  return std::stoi(sql_column(db, "SELECT COUNT(*) FROM usage_requests WHERE " + where).at(0));
}

std::string new_request_id(const std::string& what) {
  static std::mt19937_64 random{std::random_device{}()};
  return "test-" + what + "-" + std::to_string(random());
}

std::string usage_column(const std::string& db, const std::string& request_id, const std::string& column) {
  const std::string where = " FROM usage_requests WHERE request_id = '" + request_id + "'";
  if (!eventually([&] { return sql_column(db, "SELECT COUNT(*)" + where).at(0) != "0"; })) return "";
  const auto rows = sql_column(db, "SELECT " + column + where);
  EXPECT_EQ(rows.size(), 1u) << "one row per request: " << request_id;
  return rows.empty() ? "" : rows[0];
}

std::string access_log_line(const Gateway& gateway, const std::string& request_id) {
  const std::string marker = "request_id=" + request_id + " ";
  std::string line;
  eventually([&] {
    const auto log = gateway.log();
    const auto at = log.find(marker);
    const auto end = at == std::string::npos ? at : log.find('\n', at);
    if (end == std::string::npos) return false;  // not written, or not yet whole
    const auto start = log.rfind('\n', at) + 1;  // 0 when it is the first line
    line = log.substr(start, end - start);
    return true;
  });
  return line;
}

std::string long_reply(const std::string& tag, std::size_t size) {
  std::string out;
  for (int i = 0; out.size() < size; ++i) {
    char line[128];
    std::snprintf(line, sizeof line, "%s line %04d\n", tag.c_str(), i);
    out += line;
  }
  out.resize(size);
  return out;
}

nlohmann::json scenario_request(const std::string& scenario, bool stream, const std::string& model) {
  return {{"model", model},
          {"stream", stream},
          {"messages", nlohmann::json::array({{{"role", "user"}, {"content", "scenario:" + scenario}}})}};
}

CommandResult run_command(const std::string& shell_command, std::chrono::milliseconds timeout) {
  TempDir dir;
  const auto out_file = dir.path() / "stdout";
  const auto err_file = dir.path() / "stderr";
  Process process({"/bin/sh", "-c", "exec " + shell_command}, {}, out_file, err_file);
  CommandResult result;
  result.status = process.wait(timeout);
  if (result.status == -1) process.stop(SIGKILL);
  result.out = read_file(out_file);
  result.err = read_file(err_file);
  while (!result.out.empty() && (result.out.back() == '\n' || result.out.back() == '\r'))
    result.out.pop_back();
  return result;
}

std::string sanitizer_report(const std::string& text) {
  for (const char* report :
       {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:", "WARNING: ThreadSanitizer"}) {
    const auto at = text.find(report);
    if (at == std::string::npos) continue;
    const auto line_start = text.rfind('\n', at);
    const auto begin = line_start == std::string::npos ? 0 : line_start + 1;
    return text.substr(begin, text.find('\n', at) - begin);
  }
  return "";
}

::testing::AssertionResult exited_with(const CommandResult& result, int status) {
  const bool status_ok =
      status == kAnyFailure ? result.status > 0 && result.status < 128 : result.status == status;
  if (!status_ok) {
    return ::testing::AssertionFailure()
           << "exit status " << result.status << " (expected "
           << (status == kAnyFailure ? "a failure status" : std::to_string(status))
           << ")\nstdout: " << result.out << "\nstderr: " << result.err;
  }
  if (const auto report = sanitizer_report(result.err); !report.empty())
    return ::testing::AssertionFailure() << "sanitizer report: " << report << "\n" << result.err;
  return ::testing::AssertionSuccess();
}

CommandResult cli(const std::filesystem::path& config, const std::string& args) {
  return run_command(std::string(GATEWAY_BINARY) + " " + args + " --config " + config.string());
}

std::string cli_output(const std::filesystem::path& config, const std::string& args) {
  auto result = cli(config, args);
  EXPECT_TRUE(exited_with(result, 0)) << "e2b-gateway " << args;
  return result.out;
}

}  // namespace harness
