// Shutdown loses no request: during the drain new chats are refused with 503, and answers still in
// flight at the end of the grace period (or on a second signal) end properly, each with its usage
// row and access-log line.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>

#include <atomic>
#include <thread>

#include "harness.h"

using namespace harness;
using nlohmann::json;

namespace {

/// How many times `needle` occurs in `text`.
int occurrences(const std::string& text, const std::string& needle) {
  int n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

/// True once the client has received (but not read) a stream event with model text.
bool content_arrived(const Connection& connection) {
  char buffer[65536];
  const auto n = ::recv(connection.fd(), buffer, sizeof buffer, MSG_PEEK | MSG_DONTWAIT);
  const std::string received = n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
  const std::string marker = "\"content\":\"";
  for (auto at = received.find(marker); at != std::string::npos; at = received.find(marker, at + 1)) {
    const auto next = at + marker.size();
    if (next < received.size() && received[next] != '"') return true;  // not the empty role chunk
  }
  return false;
}

/// A stream that sends part of its answer, then stalls until the client leaves.
json stalled_request(const std::string& tag, bool stream) {
  return scenario_request("long=4000,chunk=40-60,stall_after=30,tag=" + tag, stream);
}

/// Expects a streamed body that delivered content and then ended with the shutdown error event,
/// `data: [DONE]` and the last chunk.
void expect_stream_ended_for_shutdown(const Response& r, const std::string& tag) {
  EXPECT_EQ(r.status, 200) << tag;
  EXPECT_TRUE(r.complete) << tag << ": the body must end with the terminating chunk";
  EXPECT_NE(streamed_content(r.body).find(tag + " line 0000"), std::string::npos) << tag;
  const auto data = sse_data(r.body);
  ASSERT_GE(data.size(), 2u) << tag;
  EXPECT_EQ(data.back(), "[DONE]") << tag;
  const auto error = json::parse(data[data.size() - 2], nullptr, false);
  ASSERT_TRUE(error.is_object() && error.contains("error")) << tag << ": " << data[data.size() - 2];
  EXPECT_EQ(error["error"]["code"], "server_shutting_down") << tag;
  EXPECT_EQ(error["error"]["type"], "server_error") << tag;
}

}  // namespace

class GracefulShutdownTest : public ::testing::Test {
 protected:
  GatewayOptions options(int grace_ms) {
    GatewayOptions o;
    o.upstream_base = upstream_.base_url();
    o.storage_path = db_;
    o.shutdown_grace_ms = grace_ms;
    return o;
  }
  TempDir dir_;
  FakeUpstream upstream_;
  std::string db_ = (dir_.path() / "gateway.db").string();
};

TEST_F(GracefulShutdownTest, StreamsOutlastingTheGraceEndWithAnErrorEventAndDone) {
  Gateway gateway(options(1000));
  constexpr int kStreams = 3;
  std::vector<std::unique_ptr<Connection>> clients;
  for (int i = 0; i < kStreams; ++i) {
    clients.push_back(std::make_unique<Connection>(gateway.port()));
    clients.back()->send_raw(
        chat_request_text(gateway.key(), stalled_request("s" + std::to_string(i), true)));
  }
  for (int i = 0; i < kStreams; ++i) {
    ASSERT_TRUE(eventually([&] { return content_arrived(*clients[i]); }))
        << "stream " << i << " delivered content before the signal";
  }
  std::atomic<int> exit_status{-2};
  std::thread stopper([&] { exit_status = gateway.stop(); });
  for (int i = 0; i < kStreams; ++i) {
    expect_stream_ended_for_shutdown(clients[i]->read_response(), "s" + std::to_string(i));
  }
  stopper.join();
  EXPECT_EQ(exit_status.load(), 0);
  EXPECT_EQ(usage_row_count(db_), kStreams) << "one usage row per request";
  EXPECT_EQ(
      usage_row_count(db_, "stream = 1 AND status = 200 AND outcome = 'timeout' AND completion_tokens > 0"),
      kStreams)
      << "the rows count what was delivered";
  const auto log = gateway.log();
  EXPECT_EQ(occurrences(log, "path=/v1/chat/completions"), kStreams) << log;
  EXPECT_EQ(occurrences(log, "error=server_shutting_down"), kStreams) << log;
}

TEST_F(GracefulShutdownTest, WaitingChatOutlastingTheGraceGets503) {
  Gateway gateway(options(1000));
  Connection client(gateway.port());
  client.send_raw(chat_request_text(gateway.key(), stalled_request("w", false)));
  ASSERT_TRUE(eventually([&] { return upstream_.stats()["active"].get<int>() == 1; }));
  std::atomic<int> exit_status{-2};
  std::thread stopper([&] { exit_status = gateway.stop(); });
  const auto r = client.read_response();
  stopper.join();
  EXPECT_EQ(exit_status.load(), 0);
  EXPECT_EQ(r.status, 503);
  EXPECT_TRUE(r.complete);
  const auto body = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(body.is_object() && body.contains("error")) << r.body;
  EXPECT_EQ(body["error"]["code"], "server_shutting_down");
  EXPECT_EQ(body["error"]["type"], "server_error");
  EXPECT_TRUE(body["error"].contains("param"));
  EXPECT_TRUE(r.headers.count("retry-after"));
  EXPECT_EQ(r.headers.count("connection") ? r.headers.at("connection") : "", "close");
  EXPECT_EQ(usage_row_count(db_), 1);
  EXPECT_EQ(usage_row_count(db_, "stream = 0 AND status = 503 AND outcome = 'timeout'"), 1);
  const auto log = gateway.log();
  EXPECT_EQ(occurrences(log, "path=/v1/chat/completions"), 1) << log;
  EXPECT_EQ(occurrences(log, "status=503"), 1) << log;
}

TEST_F(GracefulShutdownTest, NewChatsDuringTheDrainAreRefusedAndASecondSignalEndsTheRest) {
  Gateway gateway(options(30000));
  Connection stream(gateway.port());
  stream.send_raw(chat_request_text(gateway.key(), stalled_request("d", true)));
  ASSERT_TRUE(eventually([&] { return content_arrived(stream); }));
  gateway.signal(SIGTERM);
  ASSERT_TRUE(eventually([&] { return http(gateway.port(), "GET", "/healthz/ready").status == 503; }));

  const auto refused = chat(gateway.port(), gateway.key(), scenario_request("ok", false));
  EXPECT_EQ(refused.status, 503);
  const auto body = json::parse(refused.body, nullptr, false);
  ASSERT_TRUE(body.is_object() && body.contains("error")) << refused.body;
  EXPECT_EQ(body["error"]["code"], "server_shutting_down");
  ASSERT_TRUE(refused.headers.count("retry-after"));
  EXPECT_GT(std::stoi(refused.headers.at("retry-after")), 0);
  EXPECT_EQ(refused.headers.count("connection") ? refused.headers.at("connection") : "", "close");
  const auto health = http(gateway.port(), "GET", "/health");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.headers.count("connection") ? health.headers.at("connection") : "", "close")
      << "keep-alive clients move to another instance";

  std::atomic<int> exit_status{-2};
  std::thread stopper([&] { exit_status = gateway.stop(); });  // the second signal
  expect_stream_ended_for_shutdown(stream.read_response(), "d");
  stopper.join();
  EXPECT_EQ(exit_status.load(), 0);
  EXPECT_EQ(usage_row_count(db_), 2) << "the stream and the refused chat";
  EXPECT_EQ(usage_row_count(db_, "stream = 1 AND outcome = 'timeout' AND completion_tokens > 0"), 1);
  // Refused because the gateway stops, not for anything the client did: not 'rejected'.
  EXPECT_EQ(usage_row_count(db_, "stream = 0 AND status = 503 AND outcome = 'upstream_error'"), 1);
  const auto log = gateway.log();
  EXPECT_EQ(occurrences(log, "path=/v1/chat/completions"), 2) << log;
  EXPECT_EQ(occurrences(log, "error=server_shutting_down"), 2) << log;
}

TEST_F(GracefulShutdownTest, AClientThatDoesNotReadDoesNotHoldTheShutdown) {
  Gateway gateway(options(1000));
  Connection not_reading(gateway.port());
  const int small_buffer = 16 * 1024;  // fixed: the kernel does not grow it
  ::setsockopt(not_reading.fd(), SOL_SOCKET, SO_RCVBUF, &small_buffer, sizeof small_buffer);
  not_reading.send_raw(
      chat_request_text(gateway.key(), scenario_request("long=8000000,chunk=8000-16000", true)));
  // More than the socket buffers hold: the ending waits behind unread bytes.
  ASSERT_TRUE(eventually([&] { return upstream_.stats()["active"].get<int>() == 1; }, 15s));
  EXPECT_EQ(gateway.stop(), 0) << "the gateway exits although the client never reads";
  EXPECT_EQ(usage_row_count(db_), 1);
  EXPECT_EQ(usage_row_count(db_, "stream = 1 AND outcome = 'timeout' AND completion_tokens > 0"), 1);
  EXPECT_EQ(occurrences(gateway.log(), "path=/v1/chat/completions"), 1);
}
