// Upstream HTTP I/O: libcurl's multi interface driven by epoll (curl_multi_socket_action).
// Each HTTP reactor thread drives a loop of its own, so a request's upstream exchange runs on the
// thread of its client connection, with no hand-off to another thread on the way out or back.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "upstream/delayed_starts.h"
#include "upstream/upstream_transfer.h"
#include "util/reactor_work.h"
#include "util/unique_fd.h"

namespace gateway {

/// One curl multi handle and its transfers, run by whichever thread drives it as ReactorWork.
/// Observers hear from it on that thread.
class UpstreamLoop : public ReactorWork {
 public:
  using TransferId = std::uint64_t;
  /// Loops of one set number themselves 0..kMaxLoops-1; the number is in every TransferId.
  static constexpr std::size_t kMaxLoops = 256;

  /// `max_connections` sizes curl's connection cache (about this loop's peak concurrency).
  UpstreamLoop(long max_connections, std::size_t number);
  ~UpstreamLoop() override;
  UpstreamLoop(const UpstreamLoop&) = delete;
  UpstreamLoop& operator=(const UpstreamLoop&) = delete;

  /// Starts a transfer after its request's start_delay (any thread; `flow` may be null). The loop
  /// acts on this and the calls below at the end of its driver's current turn, never inside them,
  /// so a caller may hold its own locks.
  TransferId start(UpstreamRequest request, std::shared_ptr<UpstreamObserver> observer,
                   std::shared_ptr<FlowControl> flow);
  /// Aborts a transfer (or drops it while it waits out its start_delay) and closes its
  /// connection; its observer hears nothing more (any thread).
  void cancel(TransferId id);
  /// Continues a transfer paused by its FlowControl (any thread).
  void resume(TransferId id);
  /// From now on the loop runs nothing and calls no observer; the transfers left are dropped
  /// with the loop (any thread).
  void stop();
  /// Transfers in flight or waiting to start (any thread).
  std::size_t active() const { return active_.load(); }
  /// TCP connections to upstreams open now: connecting, in use or idle in curl's connection
  /// cache. Counted where curl opens and closes its sockets, so it is exact; any thread.
  std::int64_t open_connections() const { return open_connections_.load(std::memory_order_relaxed); }

  /// The loop that the calling thread drives, or null.
  static UpstreamLoop* of_this_thread();
  /// The number of the loop that runs transfer `id`.
  static std::size_t number_of(TransferId id) { return id % kMaxLoops; }

  // ReactorWork
  int ready_fd() const override { return epoll_.get(); }
  void enter() override;
  void run_ready() override;
  bool run_queued() override;

 private:
  enum class CommandKind { Start, Cancel, Resume };
  struct Command {
    CommandKind kind;
    TransferId id = 0;
    std::unique_ptr<UpstreamTransfer> transfer{};
  };

  void push(Command command);
  /// Everything a turn ends with: queued commands, curl's timer, finished and due transfers,
  /// deadlines, and the timer for the next turn.
  void finish_turn();
  /// Runs the commands queued so far; false if there were none.
  bool run_commands();
  void fire_curl_timer();
  void add_transfer(std::unique_ptr<UpstreamTransfer> transfer);
  /// Starts the delayed transfers that are due.
  void start_due();
  void finish(TransferId id, UpstreamEnd end, const std::string& detail);
  void remove(TransferId id);
  /// Ends transfers with no body byte within first_byte_timeout, or silent between body bytes
  /// for longer than idle_timeout.
  void check_deadlines();
  void collect_done();
  /// Arms the timer for the earliest of curl's timer, a delayed start and the deadline check.
  void arm_timer();
  /// After stop(): unwatches every socket and clears the wake-ups, so the driver stops waking.
  void quiet();
  void wake();

  static int on_socket(CURL* easy, curl_socket_t fd, int what, void* self, void* socket_data);
  static int on_timer(CURLM* multi, long timeout_ms, void* self);
  static curl_socket_t open_socket(void* self, curlsocktype purpose, curl_sockaddr* address);
  static int close_socket(void* self, curl_socket_t fd);
  /// Makes epoll watch `fd` for `events` (EPOLLIN/EPOLLOUT), with no syscall if it already does.
  void watch(int fd, std::uint32_t events);
  /// Stops watching `fd`.
  void unwatch(int fd);
  // Kept by every transfer's socket open and close callbacks (curl also closes cached
  // connections through them, at the latest in curl_multi_cleanup: declared before multi_).
  std::atomic<std::int64_t> open_connections_{0};

  struct MultiDeleter {
    void operator()(CURLM* multi) const { curl_multi_cleanup(multi); }
  };
  std::unique_ptr<CURLM, MultiDeleter> multi_;
  UniqueFd epoll_;   // curl's sockets, wakeup_ and timer_: the driver polls this one fd
  UniqueFd wakeup_;  // written by the first command another thread queues
  UniqueFd timer_;
  const std::size_t number_;
  std::atomic<bool> stopped_{false};
  std::atomic<TransferId> next_id_{0};
  std::atomic<std::size_t> active_{0};

  std::mutex commands_mutex_;
  std::vector<Command> commands_;  // from other threads

  // Driver thread only, from here on.
  using Clock = std::chrono::steady_clock;
  std::vector<Command> own_commands_;  // queued on the driver's thread during a turn
  std::vector<Command> running_commands_;
  Clock::time_point curl_deadline_ = Clock::time_point::max();
  Clock::time_point timer_armed_for_ = Clock::time_point::max();
  Clock::time_point last_check_ = Clock::now();
  std::unordered_map<TransferId, std::unique_ptr<UpstreamTransfer>> transfers_;
  /// Easy handles of finished transfers, reset and ready for the next ones.
  static constexpr std::size_t kIdleEasyHandles = 64;
  std::vector<EasyHandle> idle_easy_;
  /// A socket registered with epoll_. Connections this loop opened stay registered while idle in
  /// curl's cache (curl no longer wants events): most are taken again by the next transfer, with
  /// the same events, so that costs no epoll_ctl. An idle one that becomes ready (the upstream
  /// closed it) is unregistered then, and closing a socket unregisters it.
  struct Watch {
    std::uint32_t events = 0;  // registered; 0: not registered
    bool wanted = false;       // curl waits for these events
    bool own = false;          // opened by open_socket, so closed through close_socket
  };
  std::unordered_map<int, Watch> watches_;
  DelayedStarts delayed_;
};

}  // namespace gateway
