// The request side of HTTP/1.1 on both listeners: head floods, strict framing, pipelining, bytes
// sent while a response streams, Connection: close and HTTP/1.0 streams.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "harness.h"

using namespace harness;
using nlohmann::json;

namespace {

constexpr long kMaxRequestBytes = 1024 * 1024;

std::string chat_text(const std::string& key, const json& body, const std::string& version = "HTTP/1.1") {
  const std::string payload = body.dump();
  return "POST /v1/chat/completions " + version + "\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + key +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(payload.size()) +
         "\r\n\r\n" + payload;
}

/// A response header's value, or "" when absent.
std::string header(const Response& r, const std::string& name) {
  const auto it = r.headers.find(name);
  return it == r.headers.end() ? "" : it->second;
}

/// The error object of an OpenAI-shaped error body, checked for shape and for internals.
json error_of(const Response& r) {
  const auto body = json::parse(r.body, nullptr, false);
  EXPECT_TRUE(body.is_object() && body.contains("error")) << r.body;
  if (!body.is_object() || !body.contains("error")) return json::object();
  const auto& error = body["error"];
  for (const char* field : {"message", "type", "param", "code"}) EXPECT_TRUE(error.contains(field)) << r.body;
  const std::string message = error.value("message", "");
  for (const char* internal :
       {"Malformed HTTP request", "std::", "what", "stoull", "exception", "bad_alloc"}) {
    EXPECT_EQ(message.find(internal), std::string::npos) << "internals in: " << message;
  }
  return error;
}

/// A bounded flood sent from its own thread; `started` is set once its first bytes are out.
class Flood {
 public:
  Flood(int port, std::string bytes) : connection_(port, 20s), bytes_(std::move(bytes)) {
    thread_ = std::thread([this] {
      constexpr std::size_t kFirst = 64 * 1024;
      connection_.send_raw(bytes_.substr(0, kFirst));
      started_ = true;
      if (bytes_.size() > kFirst) connection_.send_raw(bytes_.substr(kFirst));
      answer_ = connection_.read_response();
      closed_ = answer_.connection_closed || connection_.closed_by_server(5s);
      elapsed_ = std::chrono::steady_clock::now() - start_;
      done_ = true;
    });
  }
  ~Flood() {
    if (thread_.joinable()) thread_.join();
  }
  bool started() const { return started_; }
  /// Waits for the flood's answer.
  const Response& answer() {
    thread_.join();
    return answer_;
  }
  bool closed() const { return closed_; }
  std::chrono::steady_clock::duration elapsed() const { return elapsed_; }

 private:
  Connection connection_;
  std::string bytes_;
  std::thread thread_;
  std::atomic<bool> started_{false};
  std::atomic<bool> done_{false};
  Response answer_;
  bool closed_ = false;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::duration elapsed_{};
};

std::string header_line_flood() {
  return "GET /health HTTP/1.1\r\nHost: x\r\nX-Flood: " + std::string(4 * 1024 * 1024, 'a') + "\r\n\r\n";
}

std::string many_headers_flood() {
  std::string out = "GET /health HTTP/1.1\r\nHost: x\r\n";
  out.reserve(out.size() + 200'000 * 6 + 2);
  for (int i = 0; i < 200'000; ++i) out += "a: b\r\n";
  return out + "\r\n";
}

std::string request_line_flood() {
  return "GET /" + std::string(2 * 1024 * 1024, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n";
}

}  // namespace

struct FramingSettings {
  static void apply(GatewayOptions& options) {
    options.threads = 1;  // every client shares one reactor: a slow parse would stall them all
    options.max_request_bytes = kMaxRequestBytes;
  }
};

class HttpFramingTest : public GatewaySuite<FramingSettings> {
 protected:
  /// Sends `flood` to `port`; meanwhile a second client asks `probe_path` on the same listener and
  /// must get a 200 quickly. The flood itself gets `status` and the connection closes.
  void flood_and_probe(int port, const std::string& flood, int status, const std::string& probe_path) {
    Flood sender(port, flood);
    ASSERT_TRUE(eventually([&] { return sender.started(); }, 5s));
    const auto start = std::chrono::steady_clock::now();
    const auto probe = http(port, "GET", probe_path);
    const auto probe_time = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(probe.status, 200) << "a second client on the same reactor";
    EXPECT_LT(probe_time, 1s) << "the second client waited while the flood was parsed";
    const auto& answer = sender.answer();
    EXPECT_EQ(answer.status, status);
    if (answer.status == status) {
      const auto error = error_of(answer);
      EXPECT_EQ(error["code"], status == 414 ? "uri_too_long" : "request_header_fields_too_large");
    }
    EXPECT_EQ(header(answer, "connection"), "close");
    EXPECT_TRUE(sender.closed()) << "the flooding connection is closed";
    EXPECT_LT(sender.elapsed(), 10s);
  }
};

TEST_F(HttpFramingTest, FourMegabyteHeaderLineIsRefusedOnBothPorts) {
  flood_and_probe(gateway_->port(), header_line_flood(), 431, "/health");
  flood_and_probe(gateway_->admin_port(), header_line_flood(), 431, "/admin/openapi.json");
}

TEST_F(HttpFramingTest, TwoHundredThousandHeadersAreRefusedOnBothPorts) {
  flood_and_probe(gateway_->port(), many_headers_flood(), 431, "/health");
  flood_and_probe(gateway_->admin_port(), many_headers_flood(), 431, "/admin/openapi.json");
}

TEST_F(HttpFramingTest, TwoMegabyteRequestLineIsRefusedOnBothPorts) {
  flood_and_probe(gateway_->port(), request_line_flood(), 414, "/health");
  flood_and_probe(gateway_->admin_port(), request_line_flood(), 414, "/admin/openapi.json");
}

TEST_F(HttpFramingTest, HeadLimitMessageNamesTheSetting) {
  Connection c(gateway_->port());
  c.send_raw("GET /health HTTP/1.1\r\nX-Big: " + std::string(9000, 'b') + "\r\n\r\n");
  const auto r = c.read_response();
  ASSERT_EQ(r.status, 431);
  const std::string message = error_of(r)["message"];
  EXPECT_NE(message.find("max_header_line_bytes"), std::string::npos) << message;
  EXPECT_NE(message.find("8192"), std::string::npos) << message;
}

TEST_F(HttpFramingTest, BytesSentDuringAStreamAreHandledAfterIt) {
  struct Injection {
    std::string name;
    std::string bytes;
  };
  std::string oversize = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                         std::to_string(2 * kMaxRequestBytes) + "\r\n\r\n" +
                         std::string(2 * kMaxRequestBytes, 'x');
  for (const auto& injection :
       {Injection{"garbage", "THIS IS NOT HTTP\r\n\r\n"}, Injection{"oversize", oversize}}) {
    SCOPED_TRACE(injection.name);
    upstream_->reset();
    Connection c(gateway_->port());
    c.send_raw(
        chat_text(gateway_->key(),
                  scenario_request("long=3000,tag=" + injection.name + ",delay_ms=20,chunk=40-60", true)));
    ASSERT_TRUE(eventually([&] { return upstream_->stats()["active"].get<int>() == 1; }));
    c.send_raw(injection.bytes);
    const auto r = c.read_response();
    ASSERT_EQ(r.status, 200);
    EXPECT_TRUE(r.complete) << "the stream ends with its terminating chunk";
    EXPECT_EQ(r.body.find("HTTP/1.1 4"), std::string::npos) << "nothing was written into the stream";
    const auto events = sse_data(r.body);
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back(), "[DONE]");
    EXPECT_EQ(streamed_content(r.body), long_reply(injection.name, 3000));
    // Afterwards: an answer to what was sent (400 for the garbage), or a closed connection.
    const auto after = c.read_response();
    if (!after.connection_closed) {
      EXPECT_EQ(after.status, 400);
      error_of(after);
    }
    EXPECT_TRUE(after.connection_closed || c.closed_by_server());
  }
}

TEST_F(HttpFramingTest, PipelinedRequestsAreAnsweredInOrder) {
  Connection c(gateway_->port(), 5s);
  c.send_raw(request_text("GET", "/health", {}) +
             request_text("GET", "/v1/models", {{"Authorization", "Bearer " + gateway_->key()}}));
  const auto first = c.read_response();
  const auto second = c.read_response();
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(json::parse(first.body, nullptr, false).value("status", ""), "ok") << first.body;
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(json::parse(second.body, nullptr, false).value("object", ""), "list") << second.body;
  // The connection stays usable.
  c.send_raw(request_text("GET", "/health", {}));
  EXPECT_EQ(c.read_response().status, 200);
}

TEST_F(HttpFramingTest, PipelinedChatAndHealthAreAnsweredInOrder) {
  Connection c(gateway_->port(), 5s);
  c.send_raw(chat_text(gateway_->key(), scenario_request("reply=pipelined", false)) +
             request_text("GET", "/health", {}));
  const auto chat = c.read_response();
  const auto health = c.read_response();
  ASSERT_EQ(chat.status, 200);
  const auto completion = json::parse(chat.body, nullptr, false);
  ASSERT_TRUE(completion.is_object()) << chat.body;
  EXPECT_EQ(completion["choices"][0]["message"]["content"], "pipelined");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(json::parse(health.body, nullptr, false).value("status", ""), "ok") << health.body;
}

TEST_F(HttpFramingTest, BothListenersHonourConnectionClose) {
  for (const auto& [port, path] : {std::pair{gateway_->port(), std::string("/health")},
                                   std::pair{gateway_->admin_port(), std::string("/admin/openapi.json")}}) {
    SCOPED_TRACE(path);
    Connection c(port);
    c.send_raw(request_text("GET", path, {{"Connection", "close"}}));
    const auto r = c.read_response();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(header(r, "connection"), "close");
    EXPECT_TRUE(c.closed_by_server());
    // HTTP/1.0 without keep-alive closes as well.
    Connection old(port);
    old.send_raw("GET " + path + " HTTP/1.0\r\n\r\n");
    const auto r10 = old.read_response();
    EXPECT_EQ(r10.status, 200);
    EXPECT_TRUE(r10.connection_closed || old.closed_by_server());
  }
}

TEST_F(HttpFramingTest, HttpOneZeroStreamIsCloseDelimited) {
  Connection c(gateway_->port());
  c.send_raw(chat_text(gateway_->key(), scenario_request("long=2000,tag=ten", true), "HTTP/1.0"));
  const auto r = c.read_response();
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(header(r, "transfer-encoding"), "");
  EXPECT_EQ(header(r, "content-length"), "");
  EXPECT_EQ(header(r, "connection"), "close");
  EXPECT_TRUE(r.connection_closed) << "the body ends when the connection closes";
  EXPECT_TRUE(r.body.starts_with("data: ")) << "no chunk framing: " << r.body.substr(0, 40);
  const auto events = sse_data(r.body);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back(), "[DONE]");
  EXPECT_EQ(streamed_content(r.body), long_reply("ten", 2000));
  // A non-stream answer to HTTP/1.0 keeps its Content-Length.
  Connection plain(gateway_->port());
  plain.send_raw(chat_text(gateway_->key(), scenario_request("reply=plain", false), "HTTP/1.0"));
  const auto p = plain.read_response();
  EXPECT_EQ(p.status, 200);
  EXPECT_TRUE(p.complete);
  EXPECT_NE(header(p, "content-length"), "");
}

TEST_F(HttpFramingTest, MalformedContentLengthIsRefused) {
  const std::string body = "hello";
  for (const std::string& lengths :
       {std::string("Content-Length: abc\r\n"), std::string("Content-Length: 1e3\r\n"),
        std::string("Content-Length: +5\r\n"), std::string("Content-Length: 5\r\nContent-Length: 6\r\n")}) {
    SCOPED_TRACE(lengths);
    Connection c(gateway_->port());
    c.send_raw("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + gateway_->key() +
               "\r\n" + lengths + "\r\n" + body);
    const auto r = c.read_response();
    EXPECT_EQ(r.status, 400);
    const std::string message = error_of(r).value("message", "");
    EXPECT_TRUE(message == "The Content-Length header must be a non-negative decimal number" ||
                message == "The request has conflicting Content-Length values")
        << message;
    EXPECT_TRUE(c.closed_by_server());
  }
}

TEST_F(HttpFramingTest, DeclaredLengthOverTheLimitIs413AtOnce) {
  Connection c(gateway_->port(), 10s);
  const auto start = std::chrono::steady_clock::now();
  c.send_raw("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " +
             std::to_string(kMaxRequestBytes + 1) + "\r\n\r\n");
  const auto r = c.read_response();
  EXPECT_EQ(r.status, 413);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "without waiting for the body";
  if (r.status == 413) {
    EXPECT_EQ(error_of(r)["code"], "request_too_large");
  }
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(HttpFramingTest, ChunkedRequestBodyIsAccepted) {
  const std::string payload = scenario_request("reply=chunked", false).dump();
  std::string chunked;
  for (std::size_t at = 0; at < payload.size(); at += 7) {
    const auto piece = payload.substr(at, 7);
    char size[16];
    std::snprintf(size, sizeof size, "%zx", piece.size());
    chunked += std::string(size) + (at == 0 ? ";ext=1" : "") + "\r\n" + piece + "\r\n";
  }
  chunked += "0\r\nX-Trailer: done\r\n\r\n";
  Connection c(gateway_->port(), 5s);
  c.send_raw("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + gateway_->key() +
             "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked +
             request_text("GET", "/health", {}));
  const auto r = c.read_response();
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body, nullptr, false)["choices"][0]["message"]["content"], "chunked");
  EXPECT_EQ(c.read_response().status, 200) << "the request after the chunked body";
}

TEST_F(HttpFramingTest, TransferEncodingOtherThanChunkedOrWithContentLengthIsRefused) {
  for (const auto& [head, status] :
       {std::pair{std::string("Transfer-Encoding: gzip\r\n"), 501},
        std::pair{std::string("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n"), 400}}) {
    SCOPED_TRACE(head);
    Connection c(gateway_->port());
    c.send_raw("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n" + head + "\r\n5\r\nhello\r\n0\r\n\r\n");
    const auto r = c.read_response();
    EXPECT_EQ(r.status, status);
    error_of(r);
    EXPECT_TRUE(c.closed_by_server());
  }
}

TEST_F(HttpFramingTest, GarbageGetsAUserFacingMessage) {
  Connection c(gateway_->port());
  c.send_raw("THIS IS NOT HTTP\r\n\r\n");
  const auto r = c.read_response();
  ASSERT_EQ(r.status, 400);
  const std::string message = error_of(r).value("message", "");
  EXPECT_NE(message.find("GET /v1/models HTTP/1.1"), std::string::npos) << message;
  EXPECT_TRUE(c.closed_by_server());
}
