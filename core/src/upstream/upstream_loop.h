// The one thread that performs all upstream HTTP I/O, with libcurl's multi interface driven by
// epoll (curl_multi_socket_action). Other threads talk to it through a command queue.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "gateway/plugin.h"
#include "util/unique_fd.h"

namespace gateway {

/// Lets the consumer of a transfer hold the upstream back while its client is slow.
class FlowControl {
 public:
  virtual ~FlowControl() = default;
  /// Called on the upstream thread before body bytes are delivered. Returning true pauses the
  /// transfer; the consumer must later call UpstreamLoop::resume().
  virtual bool should_pause() = 0;
};

/// Owns the curl multi handle and its thread.
class UpstreamLoop {
 public:
  using TransferId = std::uint64_t;

  /// `max_connections` sizes curl's connection cache (about peak concurrency).
  explicit UpstreamLoop(long max_connections);
  ~UpstreamLoop();
  UpstreamLoop(const UpstreamLoop&) = delete;
  UpstreamLoop& operator=(const UpstreamLoop&) = delete;

  /// Starts a transfer (any thread), after its request's start_delay. `flow` may be null.
  TransferId start(UpstreamRequest request, std::shared_ptr<UpstreamObserver> observer,
                   std::shared_ptr<FlowControl> flow);
  /// Aborts a transfer (or drops it while it waits out its start_delay) and closes its
  /// connection; its observer hears nothing more (any thread).
  void cancel(TransferId id);
  /// Continues a transfer paused by its FlowControl (any thread).
  void resume(TransferId id);
  /// Stops the I/O thread; transfers still in flight are dropped without further callbacks.
  /// cancel()/resume() stay safe to call afterwards.
  void stop();
  /// Transfers currently in flight or waiting to start.
  std::size_t active() const { return active_.load(); }
  /// TCP connections to upstreams open now: connecting, in use or idle in curl's connection
  /// cache. Counted where curl opens and closes its sockets, so it is exact; any thread.
  std::int64_t open_connections() const { return open_connections_.load(std::memory_order_relaxed); }

  struct Transfer;

 private:
  enum class CommandKind { Start, Cancel, Resume, Stop };
  struct Command {
    CommandKind kind;
    TransferId id = 0;
    std::unique_ptr<Transfer> transfer{};
  };

  void push(Command command);
  void run();
  void drain_commands(bool& stopping);
  void add_transfer(std::unique_ptr<Transfer> transfer);
  /// Starts the delayed transfers that are due.
  void start_due();
  /// Milliseconds epoll may wait without missing a delayed start (at most `longest`).
  int until_next_start(int longest) const;
  void finish(TransferId id, UpstreamEnd end, const std::string& detail);
  void remove(TransferId id);
  /// Ends transfers with no body byte within first_byte_timeout, or silent between body bytes
  /// for longer than idle_timeout.
  void check_deadlines();
  void collect_done();
  void kick();

  static int on_socket(void* easy, int fd, int what, void* self, void* socket_data);
  static int on_timer(void* multi, long timeout_ms, void* self);
  // Kept by every transfer's socket open and close callbacks (curl also closes cached
  // connections through them, at the latest in curl_multi_cleanup: declared before multi_).
  std::atomic<std::int64_t> open_connections_{0};

  struct MultiDeleter {
    void operator()(void* multi) const;
  };
  struct EasyDeleter {
    void operator()(void* easy) const;
  };
  std::unique_ptr<void, MultiDeleter> multi_;
  UniqueFd epoll_;
  UniqueFd wakeup_;
  long curl_timeout_ms_ = -1;
  std::chrono::steady_clock::time_point curl_deadline_ = std::chrono::steady_clock::time_point::max();

  std::mutex commands_mutex_;
  std::vector<Command> commands_;
  std::atomic<TransferId> next_id_{1};
  std::atomic<std::size_t> active_{0};

  std::unordered_map<TransferId, std::unique_ptr<Transfer>> transfers_;  // loop thread only
  /// Easy handles of finished transfers, reset and ready for the next ones (loop thread only).
  static constexpr std::size_t kIdleEasyHandles = 64;
  std::vector<std::unique_ptr<void, EasyDeleter>> idle_easy_;
  std::unordered_set<int> watched_;                 // sockets registered with epoll_ (loop thread only)
  std::vector<std::unique_ptr<Transfer>> delayed_;  // loop thread only: waiting for their start time
  std::thread thread_;
};

}  // namespace gateway
