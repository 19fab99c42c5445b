#include "server/http_server.h"

#include <pistache/http.h>
#include <pistache/listener.h>
#include <pistache/mailbox.h>
#include <pistache/peer.h>
#include <pistache/tcp.h>
#include <pistache/transport.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>

#include <atomic>
#include <mutex>

#include <sstream>
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

/// Decodes %XX escapes and '+' (a space) of a query-string name or value, as URL encoders
/// (URLSearchParams, urllib) write them; Pistache hands them over undecoded. A malformed escape
/// stays as it is.
std::string url_decode(const std::string& text) {
  const auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
      out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

HttpRequest to_http_request(const Http::Request& request, const std::string& peer_address) {
  HttpRequest out;
  out.method = Http::methodString(request.method());
  out.path = request.resource();
  const auto& query = request.query();
  for (auto it = query.parameters_begin(); it != query.parameters_end(); ++it) {
    out.query[url_decode(it->first)] = url_decode(it->second);
  }
  for (const auto& header : request.headers().list()) {
    std::ostringstream value;
    header->write(value);
    out.headers.emplace_back(to_lower(header->name()), value.str());
  }
  for (const auto& [name, raw] : request.headers().rawList()) {
    out.headers.emplace_back(to_lower(name), raw.value());
  }
  out.body = request.body();
  out.peer_address = peer_address;
  return out;
}

bool wants_keep_alive(const Http::Request& request) {
  auto connection = request.headers().tryGet<Http::Header::Connection>();
  if (connection) return connection->control() != Http::ConnectionControl::Close;
  return request.version() != Http::Version::Http10;
}

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
    slot.parser = std::make_unique<Http::RequestParser>(options_.max_request_size);
    slot.connection = std::make_shared<Connection>(peer->fd(), peer->address().host(), *this);
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
    Slot& slot = it->second;
    auto connection = slot.connection;
    if (connection->gone() || connection->closing()) return;  // draining until EOF
    connection->touch();
    connection->set_partial_request(true);
    answer_expect_continue(slot, std::string_view(buffer, len));
    if (!slot.parser->feed(buffer, len)) {
      slot.parser->reset();
      connection->set_partial_request(false);
      connection->reject(
          413, "request_too_large",
          "Request exceeds the maximum size of " + std::to_string(options_.max_request_size) + " bytes");
      return;
    }
    Http::Private::State state;
    try {
      state = slot.parser->parse();
    } catch (const std::exception& e) {
      slot.parser->reset();
      connection->set_partial_request(false);
      connection->reject(400, "bad_request", std::string("Malformed HTTP request: ") + e.what());
      return;
    }
    if (state != Http::Private::State::Done) return;
    const auto& parsed = slot.parser->request;
    HttpRequest request = to_http_request(parsed, connection->peer_address());
    const bool keep_alive = wants_keep_alive(parsed);
    if (!keep_alive) request.headers.emplace_back("connection", "close");
    slot.parser->reset();
    slot.head.clear();
    slot.head_done = false;
    connection->set_partial_request(false);
    connection->request_arrived(std::move(request));
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

  /// Reactor tick: retries blocked writes; enforces the server's own timeouts.
  void tick();

 private:
  struct Slot {
    std::weak_ptr<Tcp::Peer> peer;
    std::unique_ptr<Http::RequestParser> parser;
    std::shared_ptr<Connection> connection;
    std::string head;  // the current request's bytes until its header block ends
    bool head_done = false;
  };

  /// Clients such as curl send `Expect: 100-continue` with larger bodies and wait for a
  /// "100 Continue" before sending them; Pistache's parser does not answer it.
  void answer_expect_continue(Slot& slot, std::string_view bytes) {
    if (slot.head_done) return;
    constexpr std::size_t kMaxHead = 64 * 1024;
    slot.head.append(bytes.substr(0, kMaxHead - std::min(kMaxHead, slot.head.size())));
    const auto end = slot.head.find("\r\n\r\n");
    if (end == std::string::npos && slot.head.size() < kMaxHead) return;
    slot.head_done = true;
    const std::string headers = to_lower(slot.head.substr(0, end));
    if (headers.find("\r\nexpect: 100-continue") != std::string::npos &&
        slot.head.size() <= end + 4) {  // the body has not started arriving
      slot.connection->send("HTTP/1.1 100 Continue\r\n\r\n");
    }
    slot.head.clear();
  }

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

/// Pistache's TCP transport plus a queue of closures posted from other threads and a tick timer.
class GatewayTransport : public Tcp::Transport {
 public:
  explicit GatewayTransport(const std::shared_ptr<ConnectionHandler>& handler)
      : Tcp::Transport(handler), handler_(handler) {}

  void registerPoller(Polling::Epoll& poller) override {
    Tcp::Transport::registerPoller(poller);
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
    std::vector<Polling::Event> rest;
    bool tasks_ready = false;
    bool tick_ready = false;
    for (const auto& entry : fds) {
      if (entry.getTag() == Polling::Tag(static_cast<uint64_t>(tasks_wakeup_.get()))) {
        tasks_ready = true;
      } else if (entry.getTag() == Polling::Tag(static_cast<uint64_t>(tick_.get()))) {
        tick_ready = true;
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
  }

  std::shared_ptr<Aio::Handler> clone() const override {
    return std::make_shared<GatewayTransport>(std::static_pointer_cast<ConnectionHandler>(handler_->clone()));
  }

  /// Queues `task` for this reactor (any thread).
  void post(std::function<void()> task) {
    {
      std::lock_guard lock(tasks_mutex_);
      tasks_.push_back(std::move(task));
    }
    const std::uint64_t one = 1;
    [[maybe_unused]] auto w = ::write(tasks_wakeup_.get(), &one, sizeof one);
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

  /// Closes the peer's socket if it is still the one registered on its fd.
  void remove_if_registered(const std::shared_ptr<Tcp::Peer>& peer) {
    auto it = peers.find(peer->fd());
    if (it != peers.end() && it->second == peer) removePeer(peer);
  }

 private:
  std::shared_ptr<ConnectionHandler> handler_;
  std::mutex tasks_mutex_;
  std::vector<std::function<void()>> tasks_;
  UniqueFd tasks_wakeup_;
  UniqueFd tick_;
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
      slot.parser->reset();
      c.set_partial_request(false);
      c.reject(408, "request_timeout", "The request was not received in time");
    } else if (!c.busy() && !c.has_partial_request() && c.unsent() == 0 &&
               now - c.last_activity() > options_.keepalive_timeout) {
      to_close.push_back(slot.connection);
    }
  }
  for (auto& connection : to_close) force_close(connection);
}

}  // namespace

HttpServer::HttpServer(ServerOptions options, RequestHandler& handler)
    : options_(std::move(options)), handler_(handler) {}

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
  listener_->setTransportFactory([handler] { return std::make_shared<GatewayTransport>(handler); });
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
