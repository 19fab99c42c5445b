// One reactor thread's client connections (see connection_handler.h).
#include "server/connection_handler.h"

#include <string_view>
#include <utility>

#include "server/gateway_transport.h"

namespace gateway {
namespace {

/// How long a closing connection may wait for its last bytes to leave before it is cut.
constexpr auto kCloseLinger = std::chrono::milliseconds(2'000);

}  // namespace

ConnectionHandler::ConnectionHandler(const ServerOptions& options, RequestHandler& app,
                                     std::shared_ptr<std::atomic<std::size_t>> blocked_total)
    : options_(options), app_(app), blocked_total_(std::move(blocked_total)) {}

ConnectionHandler::ConnectionHandler(const ConnectionHandler& other)
    : Pistache::Tcp::Handler(),
      ConnectionOwner(),
      options_(other.options_),
      app_(other.app_),
      blocked_total_(other.blocked_total_) {}

void ConnectionHandler::onConnection(const std::shared_ptr<Pistache::Tcp::Peer>& peer) {
  Slot slot;
  slot.connection =
      std::make_shared<Connection>(peer->fd(), peer->address().host(), options_.request_limits(), *this);
  slots_.emplace(peer.get(), std::move(slot));
}

void ConnectionHandler::onDisconnection(const std::shared_ptr<Pistache::Tcp::Peer>& peer) {
  auto it = slots_.find(peer.get());
  if (it == slots_.end()) return;
  auto connection = it->second.connection;
  slots_.erase(it);
  connection->mark_gone();  // runs before Pistache closes the fd
}

void ConnectionHandler::onInput(const char* buffer, size_t len,
                                const std::shared_ptr<Pistache::Tcp::Peer>& peer) {
  auto it = slots_.find(peer.get());
  if (it == slots_.end()) return;
  auto connection = it->second.connection;  // receive() may end in a close that erases the slot
  connection->receive(std::string_view(buffer, len));
}

void ConnectionHandler::post(std::function<void()> task) {
  static_cast<GatewayTransport*>(transport())->post(std::move(task));
}

void ConnectionHandler::retry_later(std::shared_ptr<Connection> connection) {
  blocked_.push_back(std::move(connection));
  publish_blocked();
}

void ConnectionHandler::close_soon(std::shared_ptr<Connection> connection) {
  post([this, connection] { force_close(connection); });
}

void ConnectionHandler::dispatch(std::shared_ptr<Connection> connection, HttpRequest request) {
  app_.handle(connection, std::move(request));
}

void ConnectionHandler::refuse(std::shared_ptr<Connection> connection, HttpRequest head,
                               const RequestError& error) {
  app_.refuse(connection, std::move(head), error);
}

void ConnectionHandler::force_close(const std::shared_ptr<Connection>& connection) {
  for (auto it = slots_.begin(); it != slots_.end(); ++it) {
    if (it->second.connection != connection) continue;
    const Pistache::Tcp::Peer* const peer = it->first;
    const int fd = connection->fd();
    slots_.erase(it);
    connection->mark_gone();
    static_cast<GatewayTransport*>(transport())->remove_if_registered(fd, peer);
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

void ConnectionHandler::publish_blocked() {
  blocked_total_->fetch_add(blocked_.size() - published_blocked_);
  published_blocked_ = blocked_.size();
}

}  // namespace gateway
