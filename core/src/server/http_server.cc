// The listener, reactors and transport that feed bytes to the request parser and write responses.
#include "server/http_server.h"

#include <pistache/listener.h>
#include <pistache/mailbox.h>
#include <pistache/peer.h>
#include <pistache/tcp.h>
#include <pistache/transport.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

#include <atomic>
#include <cerrno>
#include <iterator>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "util/log.h"
#include "util/unique_fd.h"

namespace gateway {
namespace {

using namespace Pistache;

constexpr auto kTick = std::chrono::milliseconds(10);
constexpr auto kCloseLinger = std::chrono::milliseconds(2'000);

class GatewayTransport;

/// One per reactor thread: owns that thread's connections.
class ConnectionHandler : public Tcp::Handler, public ConnectionOwner {
 public:
  PROTOTYPE_OF(Tcp::Handler, ConnectionHandler)

  ConnectionHandler(const ServerOptions& options, RequestHandler& app,
                    std::shared_ptr<std::atomic<std::size_t>> blocked_total)
      : options_(options), app_(app), blocked_total_(std::move(blocked_total)) {}
  ConnectionHandler(const ConnectionHandler& other)
      : Tcp::Handler(),
        ConnectionOwner(),
        options_(other.options_),
        app_(other.app_),
        blocked_total_(other.blocked_total_) {}

  void onConnection(const std::shared_ptr<Tcp::Peer>& peer) override {
    Slot slot;
    slot.peer = peer;
    slot.connection =
        std::make_shared<Connection>(peer->fd(), peer->address().host(), options_.request_limits(), *this);
    slots_.emplace(peer.get(), std::move(slot));
  }

  void onDisconnection(const std::shared_ptr<Tcp::Peer>& peer) override {
    auto it = slots_.find(peer.get());
    if (it == slots_.end()) return;
    auto connection = it->second.connection;
    slots_.erase(it);
    connection->mark_gone();  // runs before Pistache closes the fd
  }

  void onInput(const char* buffer, size_t len, const std::shared_ptr<Tcp::Peer>& peer) override {
    auto it = slots_.find(peer.get());
    if (it == slots_.end()) return;
    auto connection = it->second.connection;  // receive() may end in a close that erases the slot
    connection->receive(std::string_view(buffer, len));
  }

  // ConnectionOwner
  void post(std::function<void()> task) override;
  void retry_later(std::shared_ptr<Connection> connection) override {
    blocked_.push_back(std::move(connection));
    publish_blocked();
  }
  void close_soon(std::shared_ptr<Connection> connection) override {
    post([this, connection] { force_close(connection); });
  }
  void dispatch(std::shared_ptr<Connection> connection, HttpRequest request) override {
    app_.handle(connection, std::move(request));
  }
  void refuse(std::shared_ptr<Connection> connection, HttpRequest head, const RequestError& error) override {
    app_.refuse(connection, std::move(head), error);
  }

  /// Reactor tick: retries blocked writes; enforces the server's own timeouts.
  void tick();

 private:
  struct Slot {
    std::weak_ptr<Tcp::Peer> peer;
    std::shared_ptr<Connection> connection;
  };

  void force_close(const std::shared_ptr<Connection>& connection);

  /// Brings this reactor's share of the server-wide count of blocked connections up to date
  /// (unsigned wrap-around makes a decrease an addition).
  void publish_blocked() {
    blocked_total_->fetch_add(blocked_.size() - published_blocked_);
    published_blocked_ = blocked_.size();
  }

  ServerOptions options_;
  RequestHandler& app_;
  std::unordered_map<Tcp::Peer*, Slot> slots_;
  std::vector<std::shared_ptr<Connection>> blocked_;
  std::shared_ptr<std::atomic<std::size_t>> blocked_total_;
  std::size_t published_blocked_ = 0;
  SteadyClock::time_point last_sweep_ = SteadyClock::now();

  friend class GatewayTransport;
};

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

/// The transport whose onReady() the calling thread is in, if any.
thread_local GatewayTransport* t_running_transport = nullptr;

/// Pistache's TCP transport plus a queue of closures posted to its thread, a tick timer, and the
/// reactor work it drives.
class GatewayTransport : public Tcp::Transport {
 public:
  GatewayTransport(const std::shared_ptr<ConnectionHandler>& handler, std::shared_ptr<ReactorWorkSource> work)
      : Tcp::Transport(handler), handler_(handler), work_source_(std::move(work)) {}

  void registerPoller(Polling::Epoll& poller) override {
    Tcp::Transport::registerPoller(poller);
    if (work_ != nullptr) {
      poller.addFd(work_->ready_fd(), Flags<Polling::NotifyOn>(Polling::NotifyOn::Read),
                   Polling::Tag(static_cast<uint64_t>(work_->ready_fd())));
    }
    tasks_wakeup_.reset(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    poller.addFd(tasks_wakeup_.get(), Flags<Polling::NotifyOn>(Polling::NotifyOn::Read),
                 Polling::Tag(static_cast<uint64_t>(tasks_wakeup_.get())));
    tick_.reset(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
    const long tick_ns = std::chrono::nanoseconds(kTick).count();
    itimerspec spec{{0, tick_ns}, {0, tick_ns}};
    timerfd_settime(tick_.get(), 0, &spec, nullptr);
    poller.addFd(tick_.get(), Flags<Polling::NotifyOn>(Polling::NotifyOn::Read),
                 Polling::Tag(static_cast<uint64_t>(tick_.get())));
  }

  void onReady(const Aio::FdSet& fds) override {
    t_running_transport = this;
    if (work_ != nullptr) work_->enter();
    std::vector<Polling::Event> rest;
    bool tasks_ready = false;
    bool tick_ready = false;
    bool work_ready = false;
    for (const auto& entry : fds) {
      if (entry.getTag() == Polling::Tag(static_cast<uint64_t>(tasks_wakeup_.get()))) {
        tasks_ready = true;
      } else if (entry.getTag() == Polling::Tag(static_cast<uint64_t>(tick_.get()))) {
        tick_ready = true;
      } else if (work_ != nullptr &&
                 entry.getTag() == Polling::Tag(static_cast<uint64_t>(work_->ready_fd()))) {
        work_ready = true;
      } else if (entry.isReadable() && read_peer(entry)) {
        // a client socket, read
      } else {
        Polling::Event event(entry.getTag());
        if (entry.isReadable()) event.flags.setFlag(Polling::NotifyOn::Read);
        if (entry.isWritable()) event.flags.setFlag(Polling::NotifyOn::Write);
        if (entry.isHangup()) event.flags.setFlag(Polling::NotifyOn::Hangup);
        rest.push_back(std::move(event));
      }
    }
    // Pistache's own events first: our tasks and tick may close sockets, and Pistache throws on
    // an event for a socket that is no longer registered within the same batch.
    if (!rest.empty()) {
      try {
        Tcp::Transport::onReady(Aio::FdSet(std::move(rest)));
      } catch (const std::exception& e) {
        log_message(LogLevel::Warn, std::string("reactor event skipped: ") + e.what());
      }
    }
    if (tasks_ready) run_tasks();
    if (tick_ready) {
      std::uint64_t expirations = 0;
      [[maybe_unused]] auto r = ::read(tick_.get(), &expirations, sizeof expirations);
      handler_->tick();
    }
    if (work_ready) work_->run_ready();
    finish_turn();
    t_running_transport = nullptr;
  }

  /// Reads a readable client socket; false when `entry` is not one. As in Pistache, each read
  /// goes to the connection, and end of stream or an error means the peer left. Unlike Pistache it
  /// stops after a read that did not fill the buffer: client sockets are edge-triggered, so the
  /// socket is then empty and later bytes raise a new event. That saves the read which only
  /// returns EAGAIN, one system call per request. An event that also reports the peer's shutdown
  /// (EPOLLRDHUP, which may come in the same event as the last bytes) reads on to end of stream.
  bool read_peer(const Aio::FdSet::Entry& entry) {
    const auto fd = static_cast<Fd>(entry.getTag().value());
    auto it = peers.find(fd);
    if (it == peers.end()) return false;
    const std::shared_ptr<Tcp::Peer> peer = it->second;  // removePeer() erases the map's copy
    // Entry holds Pistache's event flags in a private base, which only a C-style cast may name.
    const bool shut_down = ((const Polling::Event&)entry).flags.hasFlag(Polling::NotifyOn::Shutdown);
    char buffer[Const::MaxBuffer];
    for (;;) {
      const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n > 0) {
        handler_->onInput(buffer, static_cast<std::size_t>(n), peer);
        if (static_cast<std::size_t>(n) < sizeof buffer && !shut_down) return true;
        auto again = peers.find(fd);
        if (again == peers.end() || again->second != peer) return true;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
      handler_->onDisconnection(peer);
      removePeer(peer);
      return true;
    }
  }

  std::shared_ptr<Aio::Handler> clone() const override {
    auto copy = std::make_shared<GatewayTransport>(
        std::static_pointer_cast<ConnectionHandler>(handler_->clone()), work_source_);
    copy->work_ = work_source_->next();
    return copy;
  }

  /// Queues `task` for this reactor (any thread). On the reactor's own thread it runs at the end
  /// of the current turn, with no syscall. From another thread only the task that finds the queue
  /// empty writes the eventfd; run_tasks() reads it before taking the queue, so the others ride
  /// along.
  void post(std::function<void()> task) {
    if (t_running_transport == this) {
      own_tasks_.push_back(std::move(task));
      return;
    }
    bool first = false;
    {
      std::lock_guard lock(tasks_mutex_);
      first = tasks_.empty();
      tasks_.push_back(std::move(task));
    }
    if (first) wake_tasks();
  }

  /// Clears the wakeup before taking the tasks, so a post that races with us always leaves
  /// either its task in this batch or a pending wakeup (Pistache's PollableQueue can lose one).
  void run_tasks() {
    std::uint64_t count = 0;
    [[maybe_unused]] auto r = ::read(tasks_wakeup_.get(), &count, sizeof count);
    std::vector<std::function<void()>> batch;
    {
      std::lock_guard lock(tasks_mutex_);
      batch.swap(tasks_);
    }
    for (auto& task : batch) task();
  }

  /// Runs what this turn queued on its own thread: tasks, and the reactor work's commands, which
  /// may queue more of each other. A turn that keeps queueing leaves the rest to the next turn.
  void finish_turn() {
    constexpr int kRounds = 16;
    for (int round = 0; round < kRounds; ++round) {
      bool ran = false;
      if (!own_tasks_.empty()) {
        running_tasks_.swap(own_tasks_);  // both keep their capacity from turn to turn
        for (auto& task : running_tasks_) task();
        running_tasks_.clear();
        ran = true;
      }
      if (work_ != nullptr && work_->run_queued()) ran = true;
      if (!ran) return;
    }
    if (own_tasks_.empty()) return;
    {
      std::lock_guard lock(tasks_mutex_);
      std::move(own_tasks_.begin(), own_tasks_.end(), std::back_inserter(tasks_));
    }
    own_tasks_.clear();
    wake_tasks();
  }

  /// Makes the reactor run its task queue on its next turn.
  void wake_tasks() {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto w = ::write(tasks_wakeup_.get(), &one, sizeof one);
  }

  /// Closes the peer's socket if it is still the one registered on its fd.
  void remove_if_registered(const std::shared_ptr<Tcp::Peer>& peer) {
    auto it = peers.find(peer->fd());
    if (it != peers.end() && it->second == peer) removePeer(peer);
  }

 private:
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

void ConnectionHandler::post(std::function<void()> task) {
  static_cast<GatewayTransport*>(transport())->post(std::move(task));
}

void ConnectionHandler::force_close(const std::shared_ptr<Connection>& connection) {
  for (auto it = slots_.begin(); it != slots_.end(); ++it) {
    if (it->second.connection != connection) continue;
    auto peer = it->second.peer.lock();
    slots_.erase(it);
    connection->mark_gone();
    if (peer) static_cast<GatewayTransport*>(transport())->remove_if_registered(peer);
    return;
  }
  connection->mark_gone();
}

void ConnectionHandler::tick() {
  auto blocked = std::move(blocked_);
  blocked_.clear();
  for (auto& connection : blocked) connection->retry_write();
  publish_blocked();

  const auto now = SteadyClock::now();
  if (now - last_sweep_ < std::chrono::milliseconds(100)) return;
  last_sweep_ = now;
  std::vector<std::shared_ptr<Connection>> to_close;
  for (auto& [peer, slot] : slots_) {
    auto& c = *slot.connection;
    if (c.closing()) {
      if (now - c.closing_since() > kCloseLinger) to_close.push_back(slot.connection);
    } else if (c.blocked() && now - c.blocked_since() > options_.write_timeout) {
      to_close.push_back(slot.connection);
    } else if (!c.busy() && c.has_partial_request() && now - c.request_started() > options_.header_timeout) {
      c.reject(408, "request_timeout", "The request was not received in time");
    } else if (!c.busy() && !c.has_partial_request() && c.unsent() == 0 &&
               now - c.last_activity() > options_.keepalive_timeout) {
      to_close.push_back(slot.connection);
    }
  }
  for (auto& connection : to_close) force_close(connection);
}

}  // namespace

HttpServer::HttpServer(ServerOptions options, RequestHandler& handler, std::vector<ReactorWork*> reactor_work)
    : options_(std::move(options)), handler_(handler), reactor_work_(std::move(reactor_work)) {}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::start() {
  Address address(options_.host, Port(options_.port));
  listener_ = std::make_unique<Tcp::Listener>(address);
  auto handler = std::make_shared<ConnectionHandler>(options_, handler_, blocked_connections_);
  listener_->init(options_.threads, Flags<Tcp::Options>(Tcp::Options::ReuseAddr) | Tcp::Options::NoDelay,
                  "gw-reactor", 4096);
  listener_->setHandler(handler);
  auto work = std::make_shared<ReactorWorkSource>(reactor_work_);
  listener_->setTransportFactory(
      [handler, work] { return std::make_shared<GatewayTransport>(handler, work); });
  listener_->bind();
  listener_->runThreaded();
}

std::size_t HttpServer::blocked_connections() const {
  return blocked_connections_->load();
}

std::uint16_t HttpServer::port() const {
  return listener_ ? static_cast<std::uint16_t>(listener_->getPort()) : 0;
}

void HttpServer::stop() {
  if (listener_) {
    listener_->shutdown();
    listener_.reset();
  }
}

}  // namespace gateway
