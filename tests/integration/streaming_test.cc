// Streaming behaviour under real conditions: client disconnects, slow readers, long streams,
// many concurrent streams with aborts, and shutdown.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstdio>
#include <thread>

#include "harness.h"

using namespace harness;
using nlohmann::json;

struct StreamingSettings {
  static void apply(GatewayOptions& options) {
    options.header_timeout_ms = 400;  // short on purpose: streams must outlive them
    options.keepalive_timeout_ms = 600;
    options.idle_timeout_ms = 5000;
  }
};

class StreamingTest : public GatewaySuite<StreamingSettings> {};

TEST_F(StreamingTest, ClientDisconnectCancelsTheUpstreamRequest) {
  const int before = upstream_->stats()["cancelled"];
  Connection c(gateway_->port());
  c.send_raw(chat_request_text(gateway_->key(), scenario_request("long=100000,delay_ms=20", true)));
  const auto first = c.read_some(1s);
  ASSERT_NE(first.find("200 OK"), std::string::npos) << first;
  c.abort();
  EXPECT_TRUE(eventually([&] { return upstream_->stats()["cancelled"].get<int>() > before; }, 3s))
      << "the fake upstream saw the gateway hang up";
}

TEST_F(StreamingTest, StreamOutlivesHeaderAndKeepAliveTimeouts) {
  // ~40 chunks of 50 ms: about 2 s, several times the 400 ms / 600 ms server timeouts.
  const auto r = chat(gateway_->port(), gateway_->key(),
                      scenario_request("long=2000,tag=slow,delay_ms=50,chunk=40-60", true));
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(streamed_content(r.body), long_reply("slow", 2000));
}

TEST_F(StreamingTest, IdleKeepAliveConnectionIsClosedAndBusyOneIsReused) {
  Connection c(gateway_->port());
  for (int i = 0; i < 3; ++i) {
    c.send_raw(request_text("GET", "/health", {}));
    EXPECT_EQ(c.read_response().status, 200) << "request " << i << " on one keep-alive connection";
  }
  EXPECT_TRUE(c.closed_by_server(3s)) << "idle past keepalive_timeout_ms";
}

TEST_F(StreamingTest, SlowHeadersGet408) {
  Connection c(gateway_->port());
  c.send_raw("GET /health HTTP/1.1\r\nHost: x\r\n");  // never finished
  const auto r = c.read_response();
  EXPECT_EQ(r.status, 408);
}

TEST_F(StreamingTest, StalledReaderPausesItsUpstreamAndDoesNotStallOtherClients) {
  // 16 MB is far more than the kernel buffers between gateway and client can hold.
  constexpr std::size_t kBig = 16'000'000;
  upstream_->reset();
  Connection stalled(gateway_->port(), 30s);
  stalled.send_raw(
      chat_request_text(gateway_->key(), scenario_request("long=16000000,tag=stall,chunk=8000-16000", true)));
  ASSERT_TRUE(eventually([&] { return upstream_->stats()["requests"].get<int>() == 1; }));
  // Nothing to poll for: this is the window in which an upstream that was not paused would finish.
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(upstream_->stats()["active"], 1) << "the stalled stream's upstream is paused, not finished";
  for (int i = 0; i < 5; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const auto r = chat(gateway_->port(), gateway_->key(),
                        scenario_request("long=20000,tag=other" + std::to_string(i), true));
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(streamed_content(r.body), long_reply("other" + std::to_string(i), 20000));
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  }
  EXPECT_EQ(upstream_->stats()["completed"], 5) << "only the other clients' upstream requests finished";
  // The stalled stream resumes once read, and every byte is intact.
  const auto r = stalled.read_response();
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(streamed_content(r.body), long_reply("stall", kBig));
}

TEST_F(StreamingTest, TwoHundredConcurrentStreamsWithAbortsKeepEveryByteInPlace) {
  constexpr int kClients = 200;
  constexpr std::size_t kReply = 30000;
  struct Client {
    std::unique_ptr<Connection> connection;
    std::string tag;
    bool abort_early = false;
    bool done = false;
    std::string received;
  };
  std::vector<Client> clients(kClients);
  for (int i = 0; i < kClients; ++i) {
    auto& c = clients[i];
    c.tag = "client" + std::to_string(i);
    c.abort_early = i % 5 == 0;  // 20 %
    c.connection = std::make_unique<Connection>(gateway_->port());
    c.connection->send_raw(chat_request_text(
        gateway_->key(),
        scenario_request("long=" + std::to_string(kReply) + ",tag=" + c.tag + ",delay_ms=1", true)));
    fcntl(c.connection->fd(), F_SETFL, O_NONBLOCK);
  }
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  int open = kClients;
  while (open > 0 && std::chrono::steady_clock::now() < deadline) {
    std::vector<pollfd> fds;
    std::vector<int> index;
    for (int i = 0; i < kClients; ++i) {
      if (clients[i].done) continue;
      fds.push_back({clients[i].connection->fd(), POLLIN, 0});
      index.push_back(i);
    }
    if (::poll(fds.data(), fds.size(), 200) <= 0) continue;
    for (std::size_t k = 0; k < fds.size(); ++k) {
      if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      auto& c = clients[index[k]];
      char buf[65536];
      const ssize_t n = ::recv(fds[k].fd, buf, sizeof buf, 0);
      if (n > 0) c.received.append(buf, static_cast<std::size_t>(n));
      const bool ended = n == 0 || (n < 0 && errno != EAGAIN) || c.received.ends_with("0\r\n\r\n");
      if (c.abort_early && c.received.size() > 2000) {
        c.connection->abort();
        c.done = true;
        --open;
      } else if (ended) {
        c.done = true;
        --open;
      }
    }
  }
  ASSERT_EQ(open, 0) << "every stream ended before the deadline";
  int survivors = 0;
  for (auto& c : clients) {
    if (c.abort_early) continue;
    ++survivors;
    const auto head_end = c.received.find("\r\n\r\n");
    ASSERT_NE(head_end, std::string::npos) << c.tag;
    // De-chunk the body.
    std::string body;
    std::size_t pos = head_end + 4;
    for (;;) {
      const auto eol = c.received.find("\r\n", pos);
      ASSERT_NE(eol, std::string::npos) << c.tag;
      const auto size = std::stoul(c.received.substr(pos, eol - pos), nullptr, 16);
      if (size == 0) break;
      body += c.received.substr(eol + 2, size);
      pos = eol + 2 + size + 2;
    }
    EXPECT_EQ(streamed_content(body), long_reply(c.tag, kReply))
        << c.tag << " got another client's bytes or lost some";
    EXPECT_EQ(sse_data(body).back(), "[DONE]") << c.tag;
  }
  EXPECT_EQ(survivors, 160);
  EXPECT_EQ(http(gateway_->port(), "GET", "/health").status, 200);
}

TEST(ShutdownTest, SigtermStopsCleanly) {
  FakeUpstream upstream;
  GatewayOptions options;
  options.upstream_base = upstream.base_url();
  Gateway gateway(options);
  ASSERT_EQ(chat(gateway.port(), gateway.key(), scenario_request("ok", false)).status, 200);
  EXPECT_EQ(gateway.stop(), 0);
  EXPECT_NE(gateway.log().find("stopped"), std::string::npos);
}

TEST(ShutdownTest, SigtermLetsAnswersInFlightFinish) {
  FakeUpstream upstream;
  GatewayOptions options;
  options.upstream_base = upstream.base_url();
  Gateway gateway(options);
  Connection c(gateway.port());
  c.send_raw(chat_request_text(gateway.key(),
                               scenario_request("long=3000,tag=drain,delay_ms=20,chunk=40-60", true)));
  ASSERT_TRUE(eventually([&] { return upstream.stats()["active"].get<int>() == 1; }));
  std::thread stopper([&] { EXPECT_EQ(gateway.stop(), 0); });
  const auto r = c.read_response();
  stopper.join();
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(streamed_content(r.body), long_reply("drain", 3000));
}

TEST_F(StreamingTest, ExpectContinueIsAnswered) {
  Connection c(gateway_->port());
  const std::string body = scenario_request("ok", false).dump();
  c.send_raw("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + gateway_->key() +
             "\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\n\r\n");
  EXPECT_EQ(c.read_some(2s), "HTTP/1.1 100 Continue\r\n\r\n");
  c.send_raw(body);
  EXPECT_EQ(c.read_response().status, 200);
}
