// One reactor thread's client connections: Pistache's handler for the peers of that thread. It
// keeps a Connection per peer, feeds it what the peer sent, and on each tick retries blocked
// writes and enforces the server's timeouts.
#pragma once

#include <pistache/peer.h>
#include <pistache/prototype.h>
#include <pistache/tcp.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "server/connection.h"
#include "server/http_server.h"

namespace gateway {

class ConnectionHandler : public Pistache::Tcp::Handler, public ConnectionOwner {
 public:
  PROTOTYPE_OF(Pistache::Tcp::Handler, ConnectionHandler)

  /// `blocked_total` counts the connections, server-wide, whose socket has not taken every
  /// response byte yet.
  ConnectionHandler(const ServerOptions& options, RequestHandler& app,
                    std::shared_ptr<std::atomic<std::size_t>> blocked_total);
  ConnectionHandler(const ConnectionHandler& other);

  void onConnection(const std::shared_ptr<Pistache::Tcp::Peer>& peer) override;
  void onDisconnection(const std::shared_ptr<Pistache::Tcp::Peer>& peer) override;
  void onInput(const char* buffer, size_t len, const std::shared_ptr<Pistache::Tcp::Peer>& peer) override;

  // ConnectionOwner
  void post(std::function<void()> task) override;
  void retry_later(std::shared_ptr<Connection> connection) override;
  void close_soon(std::shared_ptr<Connection> connection) override;
  void dispatch(std::shared_ptr<Connection> connection, HttpRequest request) override;
  void refuse(std::shared_ptr<Connection> connection, HttpRequest head, const RequestError& error) override;

  /// Reactor tick: retries blocked writes; enforces the server's own timeouts.
  void tick();

 private:
  /// A peer's connection. The peer itself is only named (slots_'s key): holding a reference to it
  /// would change its count here as well as in libpistache (see GatewayTransport::read_peer).
  struct Slot {
    std::shared_ptr<Connection> connection;
  };

  void force_close(const std::shared_ptr<Connection>& connection);

  /// Brings this reactor's share of the server-wide count of blocked connections up to date
  /// (unsigned wrap-around makes a decrease an addition).
  void publish_blocked();

  ServerOptions options_;
  RequestHandler& app_;
  std::unordered_map<Pistache::Tcp::Peer*, Slot> slots_;
  std::vector<std::shared_ptr<Connection>> blocked_;
  std::shared_ptr<std::atomic<std::size_t>> blocked_total_;
  std::size_t published_blocked_ = 0;
  SteadyClock::time_point last_sweep_ = SteadyClock::now();
};

}  // namespace gateway
