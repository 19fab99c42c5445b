// The upstream loop driven the way a reactor drives it: one thread polls its fd and runs its
// turns. Against a small keep-alive HTTP responder on 127.0.0.1.
#include "upstream/upstream_loops.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "util/unique_fd.h"

namespace gateway {
namespace {

using namespace std::chrono_literals;

/// Answers every request on a connection with `200 ok` (keep-alive), or, per its settings, closes
/// each connection after one answer or never answers. Counts the connections it accepted.
class Responder {
 public:
  enum class Mode { KeepAlive, CloseAfterOne, Silent };

  explicit Responder(Mode mode) : mode_(mode) {
    listener_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), size) != 0 ||
        ::listen(listener_.get(), 16) != 0 ||
        ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&address), &size) != 0) {
      throw std::runtime_error("cannot listen on 127.0.0.1");
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~Responder() {
    stopping_ = true;
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/api/chat"; }
  int accepted() const { return accepted_.load(); }

 private:
  void serve() {
    std::vector<UniqueFd> connections;
    while (!stopping_) {
      std::vector<pollfd> fds{{listener_.get(), POLLIN, 0}};
      for (const auto& c : connections) fds.push_back({c.get(), POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        connections.emplace_back(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        accepted_.fetch_add(1);
      }
      for (std::size_t i = 1; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP))) continue;
        char buffer[4096];
        const auto n = ::recv(fds[i].fd, buffer, sizeof buffer, 0);
        if (n <= 0 || mode_ == Mode::Silent) {
          if (n <= 0) connections[i - 1].reset();
          continue;
        }
        // The request is small and arrives whole; answer it.
        const std::string_view answer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        [[maybe_unused]] auto sent = ::send(fds[i].fd, answer.data(), answer.size(), MSG_NOSIGNAL);
        if (mode_ == Mode::CloseAfterOne) connections[i - 1].reset();
      }
      std::erase_if(connections, [](const UniqueFd& c) { return !c; });
    }
  }

  Mode mode_;
  UniqueFd listener_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

/// Drives one loop on its own thread as a reactor would, and runs posted functions on it.
class Driver {
 public:
  explicit Driver(ReactorWork& work) : work_(work), thread_([this] { run(); }) {}
  ~Driver() {
    stopping_ = true;
    thread_.join();
  }
  /// Runs `task` on the driver thread, inside a turn (any thread).
  void post(std::function<void()> task) {
    std::lock_guard lock(mutex_);
    tasks_.push_back(std::move(task));
  }
  std::thread::id id() const { return thread_.get_id(); }

 private:
  void run() {
    while (!stopping_) {
      pollfd fd{work_.ready_fd(), POLLIN, 0};
      const int ready = ::poll(&fd, 1, 5);
      work_.enter();
      std::vector<std::function<void()>> batch;
      {
        std::lock_guard lock(mutex_);
        batch.swap(tasks_);
      }
      for (auto& task : batch) task();
      if (ready > 0) work_.run_ready();
      while (work_.run_queued()) {
      }
    }
  }

  ReactorWork& work_;
  std::mutex mutex_;
  std::vector<std::function<void()>> tasks_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

/// Records one exchange and the threads its events came on.
class Recorder : public UpstreamObserver {
 public:
  void on_head(int status, const Headers&) override {
    std::lock_guard lock(mutex_);
    status_ = status;
    threads_.push_back(std::this_thread::get_id());
  }
  void on_body(std::string_view bytes) override {
    std::lock_guard lock(mutex_);
    body_ += bytes;
    threads_.push_back(std::this_thread::get_id());
  }
  void on_end(UpstreamEnd end, std::string_view) override {
    std::lock_guard lock(mutex_);
    threads_.push_back(std::this_thread::get_id());
    ended_.set_value(end);
  }
  /// How the exchange ended, waiting at most 10 s (nullopt: it did not end).
  std::optional<UpstreamEnd> end() {
    auto future = ended_.get_future();
    if (future.wait_for(10s) != std::future_status::ready) return std::nullopt;
    return future.get();
  }
  int status() {
    std::lock_guard lock(mutex_);
    return status_;
  }
  std::string body() {
    std::lock_guard lock(mutex_);
    return body_;
  }
  std::vector<std::thread::id> threads() {
    std::lock_guard lock(mutex_);
    return threads_;
  }

 private:
  std::mutex mutex_;
  int status_ = 0;
  std::string body_;
  std::vector<std::thread::id> threads_;
  std::promise<UpstreamEnd> ended_;
};

UpstreamRequest request_to(const Responder& responder) {
  UpstreamRequest request;
  request.url = responder.url();
  request.body = "{}";
  request.headers = {{"Content-Type", "application/json"}};
  return request;
}

/// Starts a transfer the way a request handler does: on the driver thread.
UpstreamLoops::TransferId start_on(Driver& driver, UpstreamLoops& loops, UpstreamRequest request,
                                   std::shared_ptr<Recorder> recorder) {
  std::promise<UpstreamLoops::TransferId> id;
  driver.post([&] { id.set_value(loops.start(std::move(request), recorder, nullptr)); });
  return id.get_future().get();
}

TEST(UpstreamLoopTest, ATransferStartedOnTheDriverRunsThereAndReusesItsConnection) {
  Responder responder(Responder::Mode::KeepAlive);
  UpstreamLoops loops(1, 4);
  Driver driver(*loops.work()[0]);
  for (int i = 0; i < 3; ++i) {
    auto recorder = std::make_shared<Recorder>();
    start_on(driver, loops, request_to(responder), recorder);
    ASSERT_EQ(recorder->end(), UpstreamEnd::Complete);
    EXPECT_EQ(recorder->status(), 200);
    EXPECT_EQ(recorder->body(), "ok");
    for (const auto& thread : recorder->threads()) EXPECT_EQ(thread, driver.id());
  }
  // The idle connection stayed registered between transfers and was taken again each time.
  EXPECT_EQ(responder.accepted(), 1);
  EXPECT_EQ(loops.open_connections(), 1);
  EXPECT_EQ(loops.active(), 0u);
}

TEST(UpstreamLoopTest, ATransferStartedFromAnotherThreadWakesTheDriver) {
  Responder responder(Responder::Mode::KeepAlive);
  UpstreamLoops loops(1, 4);
  Driver driver(*loops.work()[0]);
  auto recorder = std::make_shared<Recorder>();
  loops.start(request_to(responder), recorder, nullptr);  // this thread drives no loop
  ASSERT_EQ(recorder->end(), UpstreamEnd::Complete);
  EXPECT_EQ(recorder->body(), "ok");
  for (const auto& thread : recorder->threads()) EXPECT_EQ(thread, driver.id());
}

TEST(UpstreamLoopTest, AnIdleConnectionTheUpstreamClosedIsNotReused) {
  Responder responder(Responder::Mode::CloseAfterOne);
  UpstreamLoops loops(1, 4);
  Driver driver(*loops.work()[0]);
  for (int i = 0; i < 3; ++i) {
    auto recorder = std::make_shared<Recorder>();
    start_on(driver, loops, request_to(responder), recorder);
    ASSERT_EQ(recorder->end(), UpstreamEnd::Complete) << "transfer " << i;
    EXPECT_EQ(recorder->body(), "ok");
    std::this_thread::sleep_for(20ms);  // the close reaches the idle connection
  }
  EXPECT_EQ(responder.accepted(), 3);
  EXPECT_LE(loops.open_connections(), 1);
  // The closed idle connection no longer keeps the loop's fd ready (the driver would spin).
  int ready = 0;
  for (int i = 0; i < 20; ++i) {
    pollfd fd{loops.work()[0]->ready_fd(), POLLIN, 0};
    ready += ::poll(&fd, 1, 0);
    std::this_thread::sleep_for(2ms);
  }
  EXPECT_LT(ready, 10);
}

/// A responder and one loop with its driver; start() runs one transfer to it.
struct OneLoop {
  explicit OneLoop(Responder::Mode mode) : responder(mode) {}
  std::shared_ptr<Recorder> start(const std::function<void(UpstreamRequest&)>& adjust) {
    auto request = request_to(responder);
    adjust(request);
    auto recorder = std::make_shared<Recorder>();
    start_on(driver, loops, std::move(request), recorder);
    return recorder;
  }
  Responder responder;
  UpstreamLoops loops{1, 4};
  Driver driver{*loops.work()[0]};
};

TEST(UpstreamLoopTest, TheTimerEndsATransferWithNoBodyInTime) {
  OneLoop one(Responder::Mode::Silent);
  auto recorder = one.start([](UpstreamRequest& request) { request.first_byte_timeout = 100ms; });
  EXPECT_EQ(recorder->end(), UpstreamEnd::FirstByteTimeout);
  EXPECT_EQ(one.loops.active(), 0u);
}

TEST(UpstreamLoopTest, ADelayedStartRunsOnceDue) {
  OneLoop one(Responder::Mode::KeepAlive);
  auto recorder = one.start([](UpstreamRequest& request) { request.start_delay = 50ms; });
  EXPECT_EQ(recorder->end(), UpstreamEnd::Complete);
  EXPECT_EQ(recorder->body(), "ok");
}

TEST(UpstreamLoopTest, ACancelledTransferIsSilent) {
  Responder responder(Responder::Mode::Silent);
  UpstreamLoops loops(2, 4);
  Driver first(*loops.work()[0]);
  Driver second(*loops.work()[1]);
  auto recorder = std::make_shared<Recorder>();
  const auto id = start_on(second, loops, request_to(responder), recorder);
  for (int i = 0; i < 200 && responder.accepted() == 0; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(responder.accepted(), 1);
  loops.cancel(id);  // from this thread, routed to the loop that runs it
  for (int i = 0; i < 200 && loops.active() != 0; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(loops.active(), 0u);
  EXPECT_TRUE(recorder->threads().empty());
}

TEST(UpstreamLoopTest, AStoppedLoopCallsNoObserver) {
  Responder responder(Responder::Mode::Silent);
  UpstreamLoops loops(1, 4);
  auto recorder = std::make_shared<Recorder>();
  {
    Driver driver(*loops.work()[0]);
    auto request = request_to(responder);
    request.first_byte_timeout = 50ms;
    start_on(driver, loops, std::move(request), recorder);
    loops.stop();
    std::this_thread::sleep_for(150ms);  // past the timeout the stopped loop no longer checks
  }
  EXPECT_TRUE(recorder->threads().empty());
}

}  // namespace
}  // namespace gateway
