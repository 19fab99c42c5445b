// The integration-test harness's HTTP client side: a raw connection to the gateway, request
// texts, and reading responses and SSE streams (see harness.h).
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sstream>
#include <stdexcept>

#include "harness.h"

namespace harness {

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

}  // namespace harness
