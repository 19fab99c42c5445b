// The HTTP front end: Pistache's listener and reactor, with a transport of our own so that every
// response byte is written by our code on the connection's reactor thread, and our own request
// parser (server/request_parser.h).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <vector>

#include "server/connection.h"
#include "util/reactor_work.h"

namespace Pistache::Tcp {
class Listener;
}

namespace gateway {

struct ServerOptions {
  std::string host = "0.0.0.0";
  std::uint16_t port = 8080;
  std::size_t threads = 2;
  std::size_t max_request_size = 8 * 1024 * 1024;  ///< request body
  std::size_t max_request_line_bytes = 8192;
  std::size_t max_header_line_bytes = 8192;
  std::size_t max_header_count = 100;
  std::size_t max_head_bytes = 32768;                   ///< request line and headers
  std::chrono::milliseconds header_timeout{30'000};     ///< to receive a whole request
  std::chrono::milliseconds keepalive_timeout{75'000};  ///< idle time between requests
  std::chrono::milliseconds write_timeout{120'000};     ///< longest a client may leave bytes unread
  std::chrono::milliseconds shutdown_grace{30'000};     ///< on SIGTERM, time for answers in flight

  /// The limits the request parser enforces, as configured above.
  RequestLimits request_limits() const {
    return {max_request_line_bytes, max_header_line_bytes, max_header_count, max_head_bytes,
            max_request_size};
  }
};

/// The application behind the server. Called on the connection's reactor thread.
class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  /// Answers `request`; must end with connection->end_response() (now or later).
  virtual void handle(const std::shared_ptr<Connection>& connection, HttpRequest request) = 0;
  /// Answers a request the server refused after reading its head (`error`: status, code and
  /// message); the connection closes after it. By default a plain OpenAI-shaped error.
  virtual void refuse(const std::shared_ptr<Connection>& connection, HttpRequest /*head*/,
                      const RequestError& error) {
    connection->reject(error.status, error.code, error.message);
  }
};

class HttpServer {
 public:
  /// `reactor_work[i]`, when given, runs on reactor thread i beside its connections (there are
  /// options.threads reactors); it must outlive the server's reactors.
  HttpServer(ServerOptions options, RequestHandler& handler, std::vector<ReactorWork*> reactor_work = {});
  ~HttpServer();
  /// Binds and starts the reactor threads; returns once listening.
  void start();
  /// The bound port (useful with port 0).
  std::uint16_t port() const;
  /// Connections whose socket has not yet taken every response byte (any thread).
  std::size_t blocked_connections() const;
  void stop();

 private:
  ServerOptions options_;
  RequestHandler& handler_;
  std::vector<ReactorWork*> reactor_work_;
  std::unique_ptr<Pistache::Tcp::Listener> listener_;
  std::shared_ptr<std::atomic<std::size_t>> blocked_connections_ =
      std::make_shared<std::atomic<std::size_t>>(0);
};

}  // namespace gateway
