// One client connection as the gateway sees it. Lives on its reactor thread: every method except
// post() must be called there, which is what makes "is the client still there?" checks race-free.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "gateway/http_types.h"
#include "server/request_parser.h"

namespace gateway {

using SteadyClock = std::chrono::steady_clock;

/// What a connection needs from the server that owns it.
class ConnectionOwner {
 public:
  virtual ~ConnectionOwner() = default;
  /// Runs `task` on this connection's reactor thread (callable from any thread).
  virtual void post(std::function<void()> task) = 0;
  /// Asks for a write retry on the next tick because the socket was full.
  virtual void retry_later(std::shared_ptr<class Connection> connection) = 0;
  /// Closes the socket once the current handler has returned.
  virtual void close_soon(std::shared_ptr<class Connection> connection) = 0;
  /// Hands the next request of this connection to the application.
  virtual void dispatch(std::shared_ptr<class Connection> connection, HttpRequest request) = 0;
  /// Hands a request refused after its head was read (`error` says why) to the application,
  /// which answers it with `error` and accounts it; the connection closes after that answer.
  virtual void refuse(std::shared_ptr<class Connection> connection, HttpRequest head,
                      const RequestError& error) = 0;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(int fd, std::string peer_address, const RequestLimits& limits, ConnectionOwner& owner);

  /// True once the client has left or the gateway closed the connection.
  bool gone() const { return gone_; }
  /// Appends bytes to the response and writes as much as the socket takes now.
  void send(std::string_view bytes);
  /// Bytes accepted by send() that the socket has not taken yet.
  std::size_t unsent() const { return out_.size() - out_offset_; }
  /// The current response is complete; close after it unless `keep_alive`. Requests the client
  /// sent meanwhile are parsed next, in order.
  void end_response(bool keep_alive);
  /// Called with the number of bytes written each time the socket takes some (backpressure).
  void set_on_written(std::function<void(std::size_t)> callback) { on_written_ = std::move(callback); }
  /// Called once if the client leaves while a response is in progress.
  void set_on_gone(std::function<void()> callback) { on_gone_ = std::move(callback); }
  /// Runs `task` on this connection's reactor thread; any thread may call it.
  void post(std::function<void()> task) { owner_.post(std::move(task)); }
  const std::string& peer_address() const { return peer_address_; }
  int fd() const { return fd_; }

  // Used by the server:
  /// Bytes from the client. Parsed, and complete requests dispatched, while no response is in
  /// progress; kept for after the response otherwise, so nothing is ever written into it. Past
  /// the limit of kept bytes (a head plus a body) reading stops and the connection closes after
  /// the response.
  void receive(std::string_view bytes);
  /// Writes pending bytes after the socket was full.
  void retry_write();
  /// The client left (EOF, reset) or the server is closing the socket.
  void mark_gone();
  /// Writes a complete response (Content-Length framing) and ends it.
  void respond(int status, const Headers& headers, const std::string& body, bool keep_alive,
               bool head_only = false);
  /// Sends `response` (an error the server produced itself) and closes.
  void reject(int status, std::string_view code, std::string_view message);
  bool busy() const { return busy_; }
  bool closing() const { return close_after_flush_; }
  /// Part of a request has arrived and no response is in progress (the header timeout runs).
  bool has_partial_request() const { return partial_request_; }
  SteadyClock::time_point last_activity() const { return last_activity_; }
  SteadyClock::time_point request_started() const { return request_started_; }
  SteadyClock::time_point blocked_since() const { return blocked_since_; }
  bool blocked() const { return blocked_; }
  void touch() { last_activity_ = SteadyClock::now(); }
  SteadyClock::time_point closing_since() const { return closing_since_; }

 private:
  void flush();
  void start_close();
  /// Parses kept bytes and dispatches requests until one is in progress or more bytes are needed.
  void process_input();
  void set_partial_request(bool partial) {
    if (partial && !partial_request_) request_started_ = SteadyClock::now();
    partial_request_ = partial;
  }

  int fd_;
  std::string peer_address_;
  ConnectionOwner& owner_;
  std::string out_;
  std::size_t out_offset_ = 0;
  bool gone_ = false;
  bool busy_ = false;
  bool blocked_ = false;
  bool close_after_flush_ = false;
  bool partial_request_ = false;
  bool dispatching_ = false;           ///< inside owner_.dispatch(): a response ending now is looped on
  bool close_after_response_ = false;  ///< too much arrived during a response, or it was refused
  RequestParser parser_;
  std::size_t input_limit_;  ///< bytes kept while a response is in progress
  std::function<void(std::size_t)> on_written_;
  std::function<void()> on_gone_;
  SteadyClock::time_point last_activity_ = SteadyClock::now();
  SteadyClock::time_point request_started_ = SteadyClock::now();
  SteadyClock::time_point blocked_since_{};
  SteadyClock::time_point closing_since_{};
};

/// Serialises a response head: status line, headers, Content-Length when `content_length` >= 0.
std::string response_head(int status, const Headers& headers, long long content_length, bool keep_alive);

/// The reason phrase for an HTTP status code.
std::string_view reason_phrase(int status);

}  // namespace gateway
