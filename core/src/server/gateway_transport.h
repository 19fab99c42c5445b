// The reactor side of the server: Pistache's TCP transport for one reactor thread, extended
// with our own read of client sockets, a queue of closures posted to the thread, the tick timer
// and the reactor work (the upstream loop) it drives.
#pragma once

#include <pistache/peer.h>
#include <pistache/reactor.h>
#include <pistache/transport.h>

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "server/connection_handler.h"
#include "util/reactor_work.h"
#include "util/unique_fd.h"

namespace gateway {

/// Hands the server's reactor work out to the transports, one each, in the order Pistache makes
/// them (one per reactor thread).
class ReactorWorkSource {
 public:
  explicit ReactorWorkSource(std::vector<ReactorWork*> work) : work_(std::move(work)) {}
  ReactorWork* next() {
    const auto i = next_.fetch_add(1);
    return i < work_.size() ? work_[i] : nullptr;
  }

 private:
  std::vector<ReactorWork*> work_;
  std::atomic<std::size_t> next_{0};
};

/// Pistache's TCP transport plus a queue of closures posted to its thread, a tick timer, and the
/// reactor work it drives.
class GatewayTransport : public Pistache::Tcp::Transport {
 public:
  GatewayTransport(const std::shared_ptr<ConnectionHandler>& handler,
                   std::shared_ptr<ReactorWorkSource> work);

  /// Adds the task eventfd, the tick timer and the reactor work's fd to the reactor's epoll.
  void registerPoller(Pistache::Polling::Epoll& poller) override;

  /// One reactor turn: client reads and Pistache's own events, then posted tasks, the tick and
  /// the reactor work, then what the turn queued for itself.
  void onReady(const Pistache::Aio::FdSet& fds) override;

  /// The transport of another reactor thread, with the next reactor work.
  std::shared_ptr<Pistache::Aio::Handler> clone() const override;

  /// Queues `task` for this reactor (any thread). On the reactor's own thread it runs at the end
  /// of the current turn, with no syscall. From another thread only the task that finds the queue
  /// empty writes the eventfd; run_tasks() reads it before taking the queue, so the others ride
  /// along.
  void post(std::function<void()> task);

  /// Closes `peer`'s socket `fd` if that peer is still the one registered on it.
  void remove_if_registered(Pistache::Fd fd, const Pistache::Tcp::Peer* peer);

 private:
  /// Reads a readable client socket; false when `entry` is not one. As in Pistache, each read
  /// goes to the connection, end of stream or an error means the peer left, and the peer is
  /// handed on as the registry's own pointer: the gateway never copies a peer's shared_ptr, whose
  /// count the listener thread also changes inside uninstrumented libpistache, where
  /// ThreadSanitizer could not pair the two. Unlike Pistache it
  /// stops after a read that did not fill the buffer: client sockets are edge-triggered, so the
  /// socket is then empty and later bytes raise a new event. That saves the read which only
  /// returns EAGAIN, one system call per request. An event that also reports the peer's shutdown
  /// (EPOLLRDHUP, which may come in the same event as the last bytes) reads on to end of stream.
  bool read_peer(const Pistache::Aio::FdSet::Entry& entry);

  /// Clears the wakeup before taking the tasks, so a post that races with us always leaves
  /// either its task in this batch or a pending wakeup (Pistache's PollableQueue can lose one).
  void run_tasks();

  /// Runs what this turn queued on its own thread: tasks, and the reactor work's commands, which
  /// may queue more of each other. A turn that keeps queueing leaves the rest to the next turn.
  void finish_turn();

  /// Makes the reactor run its task queue on its next turn.
  void wake_tasks();

  std::shared_ptr<ConnectionHandler> handler_;
  std::mutex tasks_mutex_;
  std::vector<std::function<void()>> tasks_;
  std::vector<std::function<void()>> own_tasks_;  // posted on this reactor's thread, this turn
  std::vector<std::function<void()>> running_tasks_;
  UniqueFd tasks_wakeup_;
  UniqueFd tick_;
  std::shared_ptr<ReactorWorkSource> work_source_;
  ReactorWork* work_ = nullptr;
};

}  // namespace gateway
