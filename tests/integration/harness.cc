// The integration-test harness: processes, the fake upstream, the gateway, HTTP and SQLite helpers.
#include "harness.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/socket.h>
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

Connection::Connection(int port, std::chrono::milliseconds timeout) : timeout_(timeout) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + " failed");
  }
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

Connection::~Connection() {
  if (fd_ >= 0) ::close(fd_);
}

void Connection::abort() {
  linger l{1, 0};
  setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd_);
  fd_ = -1;
}

void Connection::send_raw(const std::string& bytes) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;  // the server may close early (413): the test checks the answer
    off += static_cast<std::size_t>(n);
  }
}

bool Connection::fill(std::chrono::milliseconds timeout) {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
  char buf[65536];
  const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) return false;
  buffer_.append(buf, static_cast<std::size_t>(n));
  return true;
}

std::string Connection::read_some(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!fill(10ms) && !buffer_.empty()) break;
  }
  return std::exchange(buffer_, {});
}

bool Connection::closed_by_server(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n == 0) return true;
    if (n < 0) return errno == ECONNRESET;
  }
  return false;
}

Response Connection::read_response() {
  Response r;
  std::size_t head_end;
  while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!fill(timeout_)) {
      r.connection_closed = true;
      return r;
    }
  }
  std::istringstream head(buffer_.substr(0, head_end));
  buffer_.erase(0, head_end + 4);
  std::string line;
  std::getline(head, line);
  if (line.size() >= 12) r.status = std::stoi(line.substr(9, 3));
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    r.headers[name] = value;
  }
  if (r.headers.count("content-length")) {
    const std::size_t length = std::stoul(r.headers["content-length"]);
    while (buffer_.size() < length) {
      if (!fill(timeout_)) {
        r.body = buffer_;
        buffer_.clear();
        r.connection_closed = true;
        return r;
      }
    }
    r.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    r.complete = true;
    return r;
  }
  if (r.headers["transfer-encoding"] == "chunked") {
    std::size_t pos = 0;  // parse position; the buffer is compacted once, at the end
    for (;;) {
      std::size_t eol;
      while ((eol = buffer_.find("\r\n", pos)) == std::string::npos) {
        if (!fill(timeout_)) {
          r.connection_closed = true;
          buffer_.erase(0, pos);
          return r;
        }
      }
      const std::size_t size = std::stoul(buffer_.substr(pos, eol - pos), nullptr, 16);
      while (buffer_.size() < eol + 2 + size + 2) {
        if (!fill(timeout_)) {
          r.connection_closed = true;
          buffer_.erase(0, pos);
          return r;
        }
      }
      r.body.append(buffer_, eol + 2, size);
      pos = eol + 2 + size + 2;
      if (size == 0) {
        buffer_.erase(0, pos);
        r.complete = true;
        return r;
      }
    }
  }
  while (fill(timeout_)) {
  }
  r.body = std::exchange(buffer_, {});
  r.connection_closed = true;
  return r;
}

std::string request_text(const std::string& method, const std::string& path,
                         const std::map<std::string, std::string>& headers, const std::string& body) {
  std::string out = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& [k, v] : headers) out += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST") out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += "\r\n" + body;
  return out;
}

Response http(int port, const std::string& method, const std::string& path,
              const std::map<std::string, std::string>& headers, const std::string& body) {
  Connection c(port);
  c.send_raw(request_text(method, path, headers, body));
  return c.read_response();
}

Response chat(int port, const std::string& key, const nlohmann::json& body,
              const std::map<std::string, std::string>& extra_headers) {
  auto headers = extra_headers;
  headers["Authorization"] = "Bearer " + key;
  headers["Content-Type"] = "application/json";
  return http(port, "POST", "/v1/chat/completions", headers, body.dump());
}

std::vector<std::string> sse_data(const std::string& body) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < body.size()) {
    const auto end = body.find("\n\n", pos);
    const std::string event = body.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    if (event.starts_with("data: ")) out.push_back(event.substr(6));
    if (end == std::string::npos) break;
    pos = end + 2;
  }
  return out;
}

std::string streamed_content(const std::string& body) {
  std::string content;
  for (const auto& data : sse_data(body)) {
    if (data == "[DONE]") continue;
    const auto chunk = nlohmann::json::parse(data, nullptr, false);
    if (!chunk.is_object() || !chunk.contains("choices") || chunk["choices"].empty()) continue;
    const auto& delta = chunk["choices"][0]["delta"];
    if (delta.contains("content") && delta["content"].is_string())
      content += delta["content"].get<std::string>();
  }
  return content;
}

std::string openai_error_code(const Response& response) {
  const auto body = nlohmann::json::parse(response.body, nullptr, false);
  if (!body.is_object() || !body.contains("error") || !body["error"].is_object()) return "";
  const auto& code = body["error"]["code"];
  return code.is_string() ? code.get<std::string>() : "";
}

nlohmann::json stream_error_event(const std::string& body) {
  const auto events = sse_data(body);
  if (events.size() < 2 || events.back() != "[DONE]") return nullptr;
  const auto last = nlohmann::json::parse(events[events.size() - 2], nullptr, false);
  if (!last.is_object() || !last.contains("error")) return nullptr;
  return last["error"];
}

std::string chat_request_text(const std::string& key, const nlohmann::json& body,
                              const std::map<std::string, std::string>& extra_headers) {
  auto headers = extra_headers;
  headers["Authorization"] = "Bearer " + key;
  headers["Content-Type"] = "application/json";
  return request_text("POST", "/v1/chat/completions", headers, body.dump());
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
