// The upstream I/O thread: curl multi driven by epoll, transfers, deadlines and flow control.
#include "upstream/upstream_loop.h"
#include "util/thread_role.h"

#include <curl/curl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <iterator>
#include <stdexcept>

namespace gateway {
namespace {

using Clock = std::chrono::steady_clock;

/// libcurl's receive buffer per transfer (CURLOPT_BUFFERSIZE; its default is 16 KB, its minimum
/// 1 KB). A streaming upstream sends a few bytes per token, so each read fills little of it, yet
/// every open transfer holds one for its whole life: 1 KB keeps thousands of slow streams cheap
/// (bench/streams.sh: 3.4 KB less RSS per stream) and costs a long burst only more, smaller reads.
constexpr long kReceiveBufferBytes = 1024;

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

/// How a finished transfer ended. A curl timeout is named after the phase it cut short: connecting
/// (no head yet), waiting for the first body byte, or the silence between body bytes.
UpstreamEnd end_for(CURLcode code, bool got_head, bool got_body) {
  switch (code) {
    case CURLE_OK:
      return UpstreamEnd::Complete;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
      return UpstreamEnd::ConnectFailed;
    case CURLE_OPERATION_TIMEDOUT:
      if (got_body) return UpstreamEnd::IdleTimeout;
      return got_head ? UpstreamEnd::FirstByteTimeout : UpstreamEnd::ConnectTimeout;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_BAD_CONTENT_ENCODING:
      return UpstreamEnd::Protocol;
    default:
      return got_head ? UpstreamEnd::Reset : UpstreamEnd::Protocol;
  }
}

/// Opens the socket curl asks for and counts it in `*count` (a std::atomic<std::int64_t>).
curl_socket_t open_counted_socket(void* count, curlsocktype /*purpose*/, curl_sockaddr* address) {
  const int fd = ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
  if (fd < 0) return CURL_SOCKET_BAD;
  static_cast<std::atomic<std::int64_t>*>(count)->fetch_add(1, std::memory_order_relaxed);
  return fd;
}

/// Closes a socket opened by open_counted_socket and uncounts it.
int close_counted_socket(void* count, curl_socket_t fd) {
  static_cast<std::atomic<std::int64_t>*>(count)->fetch_sub(1, std::memory_order_relaxed);
  return ::close(fd);
}

}  // namespace

struct UpstreamLoop::Transfer {
  TransferId id = 0;
  std::unique_ptr<CURL, UpstreamLoop::EasyDeleter> easy;
  std::unique_ptr<curl_slist, SlistDeleter> header_list;
  UpstreamRequest request;
  std::shared_ptr<UpstreamObserver> observer;
  std::shared_ptr<FlowControl> flow;
  Headers response_headers;
  bool got_head = false;        // status line and headers complete
  bool got_body = false;        // the first body byte arrived; the idle timeout applies from here
  bool head_delivered = false;  // observer->on_head called
  bool paused = false;
  Clock::time_point due{};  // when a delayed transfer starts
  Clock::time_point started = Clock::now();
  // The last body byte or resume: a proxy may send the head long before the model's first
  // token, so header lines never count as activity.
  Clock::time_point last_body = Clock::now();

  void deliver_head() {
    if (head_delivered) return;
    head_delivered = true;
    long status = 0;
    curl_easy_getinfo(easy.get(), CURLINFO_RESPONSE_CODE, &status);
    observer->on_head(static_cast<int>(status), response_headers);
    Headers().swap(response_headers);  // delivered: not held for the rest of a long stream
  }

  static size_t on_header(char* data, size_t size, size_t count, void* self) {
    auto* t = static_cast<Transfer*>(self);
    const size_t n = size * count;
    std::string_view line(data, n);
    if (line.starts_with("HTTP/")) {  // a new response (after 1xx): start over
      t->response_headers.clear();
      t->got_head = false;
      return n;
    }
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    if (line.empty()) {
      long status = 0;
      curl_easy_getinfo(t->easy.get(), CURLINFO_RESPONSE_CODE, &status);
      if (status >= 200) t->got_head = true;
      return n;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) return n;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    t->response_headers.emplace_back(to_lower(line.substr(0, colon)), std::string(value));
    return n;
  }

  static size_t on_body(char* data, size_t size, size_t count, void* self) {
    auto* t = static_cast<Transfer*>(self);
    const size_t n = size * count;
    t->last_body = Clock::now();
    t->got_head = true;
    t->got_body = true;
    t->deliver_head();
    if (t->flow && t->flow->should_pause()) {
      t->paused = true;
      return CURL_WRITEFUNC_PAUSE;
    }
    t->observer->on_body(std::string_view(data, n));
    return n;
  }
};

void UpstreamLoop::MultiDeleter::operator()(void* multi) const {
  curl_multi_cleanup(static_cast<CURLM*>(multi));
}

void UpstreamLoop::EasyDeleter::operator()(void* easy) const {
  curl_easy_cleanup(static_cast<CURL*>(easy));
}

UpstreamLoop::UpstreamLoop(long max_connections)
    : multi_(curl_multi_init()),
      epoll_(epoll_create1(EPOLL_CLOEXEC)),
      wakeup_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  if (!multi_ || !epoll_ || !wakeup_) throw std::runtime_error("cannot create the upstream I/O loop");
  CURLM* multi = static_cast<CURLM*>(multi_.get());
  curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &UpstreamLoop::on_socket);
  curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &UpstreamLoop::on_timer);
  curl_multi_setopt(multi, CURLMOPT_TIMERDATA, this);
  // Keep idle upstream connections for reuse instead of the small default cache.
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, max_connections);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wakeup_.get();
  epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wakeup_.get(), &ev);
  thread_ = std::thread([this] { run(); });
}

UpstreamLoop::~UpstreamLoop() {
  stop();
  delayed_.clear();
  transfers_.clear();
}

void UpstreamLoop::stop() {
  if (!thread_.joinable()) return;
  push(Command{CommandKind::Stop});
  thread_.join();
}

UpstreamLoop::TransferId UpstreamLoop::start(UpstreamRequest request,
                                             std::shared_ptr<UpstreamObserver> observer,
                                             std::shared_ptr<FlowControl> flow) {
  auto transfer = std::make_unique<Transfer>();
  transfer->id = next_id_.fetch_add(1);
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

// Only the command that finds the queue empty writes the eventfd: the loop reads the eventfd
// before it takes the whole queue, so later commands ride on that wakeup (one syscall per batch).
void UpstreamLoop::push(Command command) {
  bool first = false;
  {
    std::lock_guard lock(commands_mutex_);
    first = commands_.empty();
    commands_.push_back(std::move(command));
  }
  if (!first) return;
  const std::uint64_t one = 1;
  [[maybe_unused]] auto written = ::write(wakeup_.get(), &one, sizeof one);
}

int UpstreamLoop::on_socket(void* /*easy*/, int fd, int what, void* self, void* socket_data) {
  auto* loop = static_cast<UpstreamLoop*>(self);
  if (what == CURL_POLL_REMOVE) {
    epoll_ctl(loop->epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    loop->watched_.erase(fd);
    return 0;
  }
  epoll_event ev{};
  ev.data.fd = fd;
  if (what & CURL_POLL_IN) ev.events |= EPOLLIN;
  if (what & CURL_POLL_OUT) ev.events |= EPOLLOUT;
  // Whatever curl remembers about the socket, make epoll agree: add a socket not watched yet,
  // modify a watched one, and fall back to the other call when an fd was closed and reused.
  (void)socket_data;
  const bool watched = !loop->watched_.insert(fd).second;
  const int first = watched ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  if (epoll_ctl(loop->epoll_.get(), first, fd, &ev) != 0 && (errno == ENOENT || errno == EEXIST)) {
    epoll_ctl(loop->epoll_.get(), watched ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev);
  }
  return 0;
}

int UpstreamLoop::on_timer(void* /*multi*/, long timeout_ms, void* self) {
  auto* loop = static_cast<UpstreamLoop*>(self);
  loop->curl_timeout_ms_ = timeout_ms;
  loop->curl_deadline_ =
      timeout_ms < 0 ? Clock::time_point::max() : Clock::now() + std::chrono::milliseconds(timeout_ms);
  return 0;
}

void UpstreamLoop::run() {
  name_this_thread("gw-upstream");
  CURLM* multi = static_cast<CURLM*>(multi_.get());
  constexpr int kDeadlineCheckMs = 50;
  std::vector<epoll_event> events(256);
  bool stopping = false;
  auto last_check = Clock::now();
  while (!stopping) {
    int wait_ms = kDeadlineCheckMs;
    if (curl_deadline_ != Clock::time_point::max()) {
      const auto until =
          std::chrono::duration_cast<std::chrono::milliseconds>(curl_deadline_ - Clock::now()).count();
      wait_ms = static_cast<int>(std::clamp<long long>(until, 0, kDeadlineCheckMs));
    }
    wait_ms = until_next_start(wait_ms);
    const int n = epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), wait_ms);
    int running = 0;
    bool acted = false;
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == wakeup_.get()) {
        std::uint64_t count = 0;
        [[maybe_unused]] auto r = ::read(fd, &count, sizeof count);
        drain_commands(stopping);
        continue;
      }
      int mask = 0;
      if (events[i].events & EPOLLIN) mask |= CURL_CSELECT_IN;
      if (events[i].events & EPOLLOUT) mask |= CURL_CSELECT_OUT;
      if (events[i].events & (EPOLLERR | EPOLLHUP)) mask |= CURL_CSELECT_ERR;
      curl_multi_socket_action(multi, fd, mask, &running);
      acted = true;
    }
    // curl's own timer: fire it whenever it is due, even while sockets keep the loop busy.
    if (!acted || Clock::now() >= curl_deadline_) {
      curl_deadline_ = Clock::time_point::max();
      curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    collect_done();
    start_due();
    if (Clock::now() - last_check >= std::chrono::milliseconds(kDeadlineCheckMs)) {
      last_check = Clock::now();
      check_deadlines();
    }
  }
  for (auto& [id, transfer] : transfers_) curl_multi_remove_handle(multi, transfer->easy.get());
}

void UpstreamLoop::drain_commands(bool& stopping) {
  std::vector<Command> batch;
  {
    std::lock_guard lock(commands_mutex_);
    batch.swap(commands_);
  }
  for (auto& command : batch) {
    switch (command.kind) {
      case CommandKind::Start:
        if (command.transfer->request.start_delay > std::chrono::milliseconds::zero()) {
          command.transfer->due = Clock::now() + command.transfer->request.start_delay;
          delayed_.push_back(std::move(command.transfer));
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
      case CommandKind::Stop:
        stopping = true;
        break;
    }
  }
  kick();
}

void UpstreamLoop::kick() {
  int running = 0;
  curl_multi_socket_action(static_cast<CURLM*>(multi_.get()), CURL_SOCKET_TIMEOUT, 0, &running);
  collect_done();
}

void UpstreamLoop::start_due() {
  if (delayed_.empty()) return;
  const auto now = Clock::now();
  const auto due = std::stable_partition(delayed_.begin(), delayed_.end(),
                                         [now](const auto& transfer) { return transfer->due > now; });
  if (due == delayed_.end()) return;
  std::vector<std::unique_ptr<Transfer>> starting(std::make_move_iterator(due),
                                                  std::make_move_iterator(delayed_.end()));
  delayed_.erase(due, delayed_.end());
  for (auto& transfer : starting) add_transfer(std::move(transfer));
  kick();
}

int UpstreamLoop::until_next_start(int longest) const {
  int wait_ms = longest;
  const auto now = Clock::now();
  for (const auto& transfer : delayed_) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(transfer->due - now).count();
    wait_ms = static_cast<int>(std::clamp<long long>(left, 0, wait_ms));
  }
  return wait_ms;
}

void UpstreamLoop::add_transfer(std::unique_ptr<Transfer> transfer) {
  if (!idle_easy_.empty()) {
    transfer->easy = std::move(idle_easy_.back());
    idle_easy_.pop_back();
  } else {
    transfer->easy.reset(curl_easy_init());
  }
  CURL* easy = transfer->easy.get();
  if (easy == nullptr) {
    transfer->observer->on_end(UpstreamEnd::ConnectFailed, "cannot create a transfer");
    active_.fetch_sub(1);
    return;
  }
  const auto& req = transfer->request;
  curl_slist* list = nullptr;
  for (const auto& [name, value] : req.headers) list = curl_slist_append(list, (name + ": " + value).c_str());
  list = curl_slist_append(list, "Expect:");
  transfer->header_list.reset(list);
  Headers().swap(transfer->request.headers);  // curl sends the list; the copy would only wait

  curl_easy_setopt(easy, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(easy, CURLOPT_POST, 1L);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, req.body.data());
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(req.connect_timeout.count()));
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(easy, CURLOPT_DNS_CACHE_TIMEOUT, 300L);
  curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, kReceiveBufferBytes);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &Transfer::on_header);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, transfer.get());
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Transfer::on_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, transfer.get());
  curl_easy_setopt(easy, CURLOPT_PRIVATE, transfer.get());
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, &open_counted_socket);
  curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, &open_connections_);
  curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, &close_counted_socket);
  curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, &open_connections_);
  transfer->started = transfer->last_body = Clock::now();
  const TransferId id = transfer->id;
  transfers_.emplace(id, std::move(transfer));
  curl_multi_add_handle(static_cast<CURLM*>(multi_.get()), easy);
}

void UpstreamLoop::collect_done() {
  CURLM* multi = static_cast<CURLM*>(multi_.get());
  int pending = 0;
  while (CURLMsg* msg = curl_multi_info_read(multi, &pending)) {
    if (msg->msg != CURLMSG_DONE) continue;
    Transfer* t = nullptr;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
    if (t == nullptr) continue;
    const CURLcode code = msg->data.result;
    const UpstreamEnd end = end_for(code, t->got_head, t->got_body);
    finish(t->id, end, code == CURLE_OK ? std::string() : curl_easy_strerror(code));
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
  const auto waiting = std::find_if(delayed_.begin(), delayed_.end(),
                                    [id](const auto& transfer) { return transfer->id == id; });
  if (waiting != delayed_.end()) {
    delayed_.erase(waiting);
    active_.fetch_sub(1);
    return;
  }
  auto it = transfers_.find(id);
  if (it == transfers_.end()) return;
  curl_multi_remove_handle(static_cast<CURLM*>(multi_.get()), it->second->easy.get());
  auto easy = std::move(it->second->easy);
  transfers_.erase(it);
  active_.fetch_sub(1);
  // Kept for the next transfer: curl_easy_reset clears every option but keeps the handle's
  // buffers, so a busy gateway does not allocate and free them per request.
  if (easy && idle_easy_.size() < kIdleEasyHandles) {
    curl_easy_reset(easy.get());
    idle_easy_.push_back(std::move(easy));
  }
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
