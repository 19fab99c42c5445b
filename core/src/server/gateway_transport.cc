// The reactor side of the server (see gateway_transport.h).
#include "server/gateway_transport.h"

#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <iterator>
#include <string>

#include "util/log.h"

namespace gateway {

using namespace Pistache;

namespace {

/// How often a reactor retries blocked writes and checks its connections' timeouts.
constexpr auto kTick = std::chrono::milliseconds(10);

/// The transport whose onReady() the calling thread is in, if any.
thread_local GatewayTransport* t_running_transport = nullptr;

}  // namespace

GatewayTransport::GatewayTransport(const std::shared_ptr<ConnectionHandler>& handler,
                                   std::shared_ptr<ReactorWorkSource> work)
    : Tcp::Transport(handler), handler_(handler), work_source_(std::move(work)) {}

void GatewayTransport::registerPoller(Polling::Epoll& poller) {
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

void GatewayTransport::onReady(const Aio::FdSet& fds) {
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
    } else if (work_ != nullptr && entry.getTag() == Polling::Tag(static_cast<uint64_t>(work_->ready_fd()))) {
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

bool GatewayTransport::read_peer(const Aio::FdSet::Entry& entry) {
  const auto fd = static_cast<Fd>(entry.getTag().value());
  auto it = peers.find(fd);
  if (it == peers.end()) return false;
  const Tcp::Peer* const registered = it->second.get();
  // Entry holds Pistache's event flags in a private base, which only a C-style cast may name.
  const bool shut_down = ((const Polling::Event&)entry).flags.hasFlag(Polling::NotifyOn::Shutdown);
  char buffer[Const::MaxBuffer];
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n > 0) {
      handler_->onInput(buffer, static_cast<std::size_t>(n), it->second);
      if (static_cast<std::size_t>(n) < sizeof buffer && !shut_down) return true;
      it = peers.find(fd);  // the connection may have been closed meanwhile
      if (it == peers.end() || it->second.get() != registered) return true;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    handler_->onDisconnection(it->second);
    removePeer(it->second);  // takes the fd first, then erases the entry it was given
    return true;
  }
}

std::shared_ptr<Aio::Handler> GatewayTransport::clone() const {
  auto copy = std::make_shared<GatewayTransport>(
      std::static_pointer_cast<ConnectionHandler>(handler_->clone()), work_source_);
  copy->work_ = work_source_->next();
  return copy;
}

void GatewayTransport::post(std::function<void()> task) {
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

void GatewayTransport::run_tasks() {
  std::uint64_t count = 0;
  [[maybe_unused]] auto r = ::read(tasks_wakeup_.get(), &count, sizeof count);
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard lock(tasks_mutex_);
    batch.swap(tasks_);
  }
  for (auto& task : batch) task();
}

void GatewayTransport::finish_turn() {
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

void GatewayTransport::wake_tasks() {
  const std::uint64_t one = 1;
  [[maybe_unused]] auto w = ::write(tasks_wakeup_.get(), &one, sizeof one);
}

void GatewayTransport::remove_if_registered(Fd fd, const Tcp::Peer* peer) {
  auto it = peers.find(fd);
  if (it != peers.end() && it->second.get() == peer) removePeer(it->second);
}

}  // namespace gateway
