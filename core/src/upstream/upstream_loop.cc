// An upstream loop: curl multi on an epoll set that its driver polls as one fd, commands from its
// own and other threads, delayed starts, deadlines and flow control.
#include "upstream/upstream_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <iterator>
#include <stdexcept>

namespace gateway {
namespace {

using Clock = std::chrono::steady_clock;

/// How often transfers are checked against their first-byte and idle timeouts.
constexpr auto kDeadlineCheck = std::chrono::milliseconds(50);
/// Rounds of commands a turn runs before it leaves the rest to the next turn: a transfer whose
/// observer starts another at once (a failover retry) cannot keep the driver here.
constexpr int kRoundsPerTurn = 16;

thread_local UpstreamLoop* t_driven_loop = nullptr;

void read_counter(int fd) {
  std::uint64_t count = 0;
  [[maybe_unused]] auto r = ::read(fd, &count, sizeof count);
}

}  // namespace

UpstreamLoop::UpstreamLoop(long max_connections, std::size_t number)
    : multi_(curl_multi_init()),
      epoll_(epoll_create1(EPOLL_CLOEXEC)),
      wakeup_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      timer_(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)),
      number_(number) {
  if (!multi_ || !epoll_ || !wakeup_ || !timer_ || number >= kMaxLoops)
    throw std::runtime_error("cannot create the upstream I/O loop");
  CURLM* multi = multi_.get();
  curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &UpstreamLoop::on_socket);
  curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &UpstreamLoop::on_timer);
  curl_multi_setopt(multi, CURLMOPT_TIMERDATA, this);
  // Keep idle upstream connections for reuse instead of the small default cache.
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, max_connections);
  for (const int fd : {wakeup_.get(), timer_.get()}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev);
  }
}

UpstreamLoop::~UpstreamLoop() {
  stop();
  if (t_driven_loop == this) t_driven_loop = nullptr;
  for (auto& [id, transfer] : transfers_) curl_multi_remove_handle(multi_.get(), transfer->easy.get());
  delayed_.clear();
  transfers_.clear();
  idle_easy_.clear();
  multi_.reset();  // closes the cached connections through close_socket, which needs watches_
}

void UpstreamLoop::stop() {
  stopped_.store(true);
  wake();  // the driver quiets the loop on its next turn
}

UpstreamLoop* UpstreamLoop::of_this_thread() {
  return t_driven_loop;
}

void UpstreamLoop::enter() {
  t_driven_loop = this;
}

UpstreamLoop::TransferId UpstreamLoop::start(UpstreamRequest request,
                                             std::shared_ptr<UpstreamObserver> observer,
                                             std::shared_ptr<FlowControl> flow) {
  auto transfer = std::make_unique<UpstreamTransfer>();
  transfer->id = (next_id_.fetch_add(1) + 1) * kMaxLoops + number_;
  transfer->request = std::move(request);
  transfer->observer = std::move(observer);
  transfer->flow = std::move(flow);
  const TransferId id = transfer->id;
  active_.fetch_add(1);
  push(Command{CommandKind::Start, id, std::move(transfer)});
  return id;
}

void UpstreamLoop::cancel(TransferId id) {
  push(Command{CommandKind::Cancel, id});
}

void UpstreamLoop::resume(TransferId id) {
  push(Command{CommandKind::Resume, id});
}

// On the driver's thread a command waits in own_commands_ for the end of the turn, with no
// syscall. From another thread only the command that finds the queue empty writes the eventfd:
// the driver reads it before it takes the whole queue, so later ones ride on that wake-up.
void UpstreamLoop::push(Command command) {
  if (t_driven_loop == this) {
    own_commands_.push_back(std::move(command));
    return;
  }
  bool first = false;
  {
    std::lock_guard lock(commands_mutex_);
    first = commands_.empty();
    commands_.push_back(std::move(command));
  }
  if (first) wake();
}

void UpstreamLoop::wake() {
  const std::uint64_t one = 1;
  [[maybe_unused]] auto written = ::write(wakeup_.get(), &one, sizeof one);
}

int UpstreamLoop::on_timer(CURLM* /*multi*/, long timeout_ms, void* self) {
  auto* loop = static_cast<UpstreamLoop*>(self);
  loop->curl_deadline_ =
      timeout_ms < 0 ? Clock::time_point::max() : Clock::now() + std::chrono::milliseconds(timeout_ms);
  return 0;
}

void UpstreamLoop::run_ready() {
  if (stopped_.load()) {
    quiet();
    return;
  }
  epoll_event events[64];
  const int n = epoll_wait(epoll_.get(), events, 64, 0);
  int running = 0;
  for (int i = 0; i < n; ++i) {
    const int fd = events[i].data.fd;
    if (fd == wakeup_.get()) {
      read_counter(fd);
      std::vector<Command> batch;
      {
        std::lock_guard lock(commands_mutex_);
        batch.swap(commands_);
      }
      std::move(batch.begin(), batch.end(), std::back_inserter(own_commands_));
    } else if (fd == timer_.get()) {
      read_counter(fd);
      timer_armed_for_ = Clock::time_point::max();
    } else {
      auto watch = watches_.find(fd);
      if (watch == watches_.end() || !watch->second.wanted) {
        unwatch(fd);  // idle in curl's cache and closed by the upstream, or stale
        continue;
      }
      int mask = 0;
      if (events[i].events & EPOLLIN) mask |= CURL_CSELECT_IN;
      if (events[i].events & EPOLLOUT) mask |= CURL_CSELECT_OUT;
      if (events[i].events & (EPOLLERR | EPOLLHUP)) mask |= CURL_CSELECT_ERR;
      curl_multi_socket_action(multi_.get(), fd, mask, &running);
    }
  }
  finish_turn();
}

bool UpstreamLoop::run_queued() {
  if (own_commands_.empty()) return false;
  if (stopped_.load()) {
    own_commands_.clear();
    return false;
  }
  finish_turn();
  return true;
}

void UpstreamLoop::finish_turn() {
  if (Clock::now() - last_check_ >= kDeadlineCheck) {
    last_check_ = Clock::now();
    check_deadlines();
  }
  for (int round = 0; round < kRoundsPerTurn; ++round) {
    const bool ran = run_commands();
    // curl's own timer: whenever it is due, and after new commands (curl asks to be run at once
    // for a new transfer).
    if (ran || Clock::now() >= curl_deadline_) fire_curl_timer();
    collect_done();
    start_due();
    if (own_commands_.empty()) break;
  }
  if (!own_commands_.empty()) wake();  // the rest in the next turn
  arm_timer();
}

bool UpstreamLoop::run_commands() {
  if (own_commands_.empty()) return false;
  running_commands_.swap(own_commands_);  // both keep their capacity from turn to turn
  for (auto& command : running_commands_) {
    switch (command.kind) {
      case CommandKind::Start:
        if (const auto delay = command.transfer->request.start_delay;
            delay > std::chrono::milliseconds::zero()) {
          delayed_.add(std::move(command.transfer), Clock::now(), delay);
        } else {
          add_transfer(std::move(command.transfer));
        }
        break;
      case CommandKind::Cancel:
        remove(command.id);
        break;
      case CommandKind::Resume: {
        auto it = transfers_.find(command.id);
        if (it != transfers_.end() && it->second->paused) {
          it->second->paused = false;
          it->second->last_body = Clock::now();
          // May call the write callback synchronously; no lock is held here.
          curl_easy_pause(it->second->easy.get(), CURLPAUSE_CONT);
        }
        break;
      }
    }
  }
  running_commands_.clear();
  return true;
}

void UpstreamLoop::fire_curl_timer() {
  curl_deadline_ = Clock::time_point::max();
  int running = 0;
  curl_multi_socket_action(multi_.get(), CURL_SOCKET_TIMEOUT, 0, &running);
}

void UpstreamLoop::start_due() {
  auto starting = delayed_.take_due(Clock::now());
  if (starting.empty()) return;
  for (auto& transfer : starting) add_transfer(std::move(transfer));
  fire_curl_timer();
  collect_done();
}

void UpstreamLoop::arm_timer() {
  auto want = curl_deadline_;
  want = std::min(want, delayed_.next_due());
  if (!transfers_.empty()) want = std::min(want, last_check_ + kDeadlineCheck);
  if (want == Clock::time_point::max()) return;  // an armed timer may fire for nothing: harmless
  // An earlier wake-up still pending re-arms the timer when it fires.
  if (timer_armed_for_ <= want && timer_armed_for_ > Clock::now()) return;
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(want.time_since_epoch()).count();
  itimerspec spec{};
  spec.it_value.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
  spec.it_value.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0) spec.it_value.tv_nsec = 1;
  timerfd_settime(timer_.get(), TFD_TIMER_ABSTIME, &spec, nullptr);
  timer_armed_for_ = want;
}

void UpstreamLoop::quiet() {
  for (auto& [fd, watch] : watches_) {
    if (watch.events != 0) epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    watch.events = 0;
  }
  read_counter(wakeup_.get());
  read_counter(timer_.get());
  const itimerspec off{};
  timerfd_settime(timer_.get(), 0, &off, nullptr);
  own_commands_.clear();
}

void UpstreamLoop::add_transfer(std::unique_ptr<UpstreamTransfer> transfer) {
  EasyHandle easy;
  if (!idle_easy_.empty()) {
    easy = std::move(idle_easy_.back());
    idle_easy_.pop_back();
  } else {
    easy.reset(curl_easy_init());
  }
  if (!easy) {
    transfer->observer->on_end(UpstreamEnd::ConnectFailed, "cannot create a transfer");
    active_.fetch_sub(1);
    return;
  }
  transfer->configure(std::move(easy));
  CURL* handle = transfer->easy.get();
  curl_easy_setopt(handle, CURLOPT_OPENSOCKETFUNCTION, &UpstreamLoop::open_socket);
  curl_easy_setopt(handle, CURLOPT_OPENSOCKETDATA, this);
  curl_easy_setopt(handle, CURLOPT_CLOSESOCKETFUNCTION, &UpstreamLoop::close_socket);
  curl_easy_setopt(handle, CURLOPT_CLOSESOCKETDATA, this);
  const TransferId id = transfer->id;
  transfers_.emplace(id, std::move(transfer));
  curl_multi_add_handle(multi_.get(), handle);
}

void UpstreamLoop::collect_done() {
  int pending = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi_.get(), &pending)) {
    if (msg->msg != CURLMSG_DONE) continue;
    UpstreamTransfer* t = nullptr;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
    if (t == nullptr) continue;
    const CURLcode code = msg->data.result;
    finish(t->id, t->end_for(code), code == CURLE_OK ? std::string() : curl_easy_strerror(code));
  }
}

void UpstreamLoop::finish(TransferId id, UpstreamEnd end, const std::string& detail) {
  auto it = transfers_.find(id);
  if (it == transfers_.end()) return;
  auto observer = it->second->observer;
  if (end == UpstreamEnd::Complete || end == UpstreamEnd::Reset) it->second->deliver_head();
  remove(id);
  observer->on_end(end, detail);
}

void UpstreamLoop::remove(TransferId id) {
  if (delayed_.drop(id)) {
    active_.fetch_sub(1);
    return;
  }
  auto it = transfers_.find(id);
  if (it == transfers_.end()) return;
  curl_multi_remove_handle(multi_.get(), it->second->easy.get());
  auto easy = std::move(it->second->easy);
  transfers_.erase(it);
  active_.fetch_sub(1);
  // Kept for the next transfer, which sets every option configure() sets (so nothing of this
  // one carries over) and reuses the handle's buffers: a busy gateway neither allocates them
  // nor resets them per request.
  if (easy && idle_easy_.size() < kIdleEasyHandles) idle_easy_.push_back(std::move(easy));
}

void UpstreamLoop::check_deadlines() {
  const auto now = Clock::now();
  std::vector<std::pair<TransferId, UpstreamEnd>> expired;
  for (const auto& [id, t] : transfers_) {
    // Until the first body byte the model may be thinking, whether or not the head came early.
    if (!t->got_body && now - t->started > t->request.first_byte_timeout) {
      expired.emplace_back(id, UpstreamEnd::FirstByteTimeout);
    } else if (t->got_body && !t->paused && now - t->last_body > t->request.idle_timeout) {
      expired.emplace_back(id, UpstreamEnd::IdleTimeout);
    }
  }
  for (const auto& [id, end] : expired) {
    finish(id, end,
           end == UpstreamEnd::FirstByteTimeout ? "no response body from the upstream in time"
                                                : "the upstream stopped sending");
  }
}

}  // namespace gateway
