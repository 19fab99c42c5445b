// A client connection on its reactor thread: writes, backpressure, timeouts and closing.
#include "server/connection.h"

#include <sys/socket.h>

#include <cerrno>

namespace gateway {

Connection::Connection(int fd, std::string peer_address, const RequestLimits& limits, ConnectionOwner& owner)
    : fd_(fd),
      peer_address_(std::move(peer_address)),
      owner_(owner),
      parser_(limits),
      input_limit_(limits.max_head_bytes + limits.max_body_bytes) {}

void Connection::send(std::string_view bytes) {
  if (gone_ || bytes.empty()) return;
  if (out_offset_ == out_.size()) {
    out_.clear();
    out_offset_ = 0;
  }
  out_.append(bytes);
  if (!blocked_) flush();
}

void Connection::flush() {
  std::size_t written_now = 0;
  while (!gone_ && out_offset_ < out_.size()) {
    const ssize_t n =
        ::send(fd_, out_.data() + out_offset_, out_.size() - out_offset_, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      out_offset_ += static_cast<std::size_t>(n);
      written_now += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!blocked_) {
        blocked_ = true;
        blocked_since_ = SteadyClock::now();
      }
      owner_.retry_later(shared_from_this());
      break;
    }
    // EPIPE/ECONNRESET: the read side reports the disconnect; drop what is left.
    out_.clear();
    out_offset_ = 0;
    break;
  }
  if (out_offset_ == out_.size()) {
    blocked_ = false;
    // Released, not just cleared: a stream idles between events for most of its life, and
    // thousands of open streams would each hold their largest event's buffer.
    std::string().swap(out_);
    out_offset_ = 0;
    if (close_after_flush_ && !gone_) {
      ::shutdown(fd_, SHUT_WR);  // let the client read everything, then see EOF
    }
  }
  if (written_now > 0) {
    touch();
    if (on_written_) on_written_(written_now);
  }
}

void Connection::retry_write() {
  if (gone_) return;
  blocked_ = false;
  flush();
}

void Connection::end_response(bool keep_alive) {
  on_written_ = nullptr;
  on_gone_ = nullptr;
  busy_ = false;
  touch();
  if (!keep_alive || close_after_response_) {
    start_close();
    return;
  }
  // A response that ends inside dispatch() is followed by the loop in process_input(); a later
  // one continues from the reactor's task queue, outside the code that ended it.
  if (!dispatching_ && parser_.buffered() > 0 && !gone_) {
    owner_.post([self = shared_from_this()] { self->process_input(); });
  }
}

void Connection::start_close() {
  if (close_after_flush_) return;
  close_after_flush_ = true;
  closing_since_ = SteadyClock::now();
  if (unsent() == 0 && !gone_) ::shutdown(fd_, SHUT_WR);
}

void Connection::receive(std::string_view bytes) {
  if (gone_ || close_after_flush_ || close_after_response_) return;  // closing: drained until EOF
  touch();
  if (busy_) {
    if (parser_.buffered() + bytes.size() > input_limit_) {
      close_after_response_ = true;
      return;
    }
    parser_.feed(bytes);
    return;
  }
  parser_.feed(bytes);
  process_input();
}

void Connection::process_input() {
  while (!gone_ && !close_after_flush_ && !busy_) {
    const auto result = parser_.parse();
    if (parser_.take_continue_request()) send("HTTP/1.1 100 Continue\r\n\r\n");
    if (result == RequestParser::Result::NeedMore) {
      set_partial_request(parser_.has_partial_request());
      return;
    }
    set_partial_request(false);
    if (result == RequestParser::Result::Failed) {
      const auto& error = parser_.error();
      if (auto head = parser_.take_refused_head()) {
        head->peer_address = peer_address_;
        set_header(head->headers, "connection", "close");
        busy_ = true;
        close_after_response_ = true;  // nothing after a refused request is read
        owner_.refuse(shared_from_this(), std::move(*head), error);
        return;
      }
      reject(error.status, error.code, error.message);
      return;
    }
    HttpRequest request = parser_.take_request();
    request.peer_address = peer_address_;
    busy_ = true;
    dispatching_ = true;
    owner_.dispatch(shared_from_this(), std::move(request));
    dispatching_ = false;
  }
}

void Connection::mark_gone() {
  if (gone_) return;
  gone_ = true;
  out_.clear();
  out_offset_ = 0;
  on_written_ = nullptr;
  if (auto callback = std::move(on_gone_)) {
    on_gone_ = nullptr;
    callback();
  }
}

void Connection::respond(int status, const Headers& headers, const std::string& body, bool keep_alive,
                         bool head_only) {
  std::string bytes = response_head(status, headers, static_cast<long long>(body.size()), keep_alive);
  if (!head_only) bytes += body;
  send(bytes);
  end_response(keep_alive);
}

void Connection::reject(int status, std::string_view code, std::string_view message) {
  const auto body = openai_error_body("invalid_request_error", code, message).dump();
  Headers headers{{"Content-Type", "application/json"}};
  send(response_head(status, headers, static_cast<long long>(body.size()), false) + body);
  busy_ = false;
  start_close();
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

std::string response_head(int status, const Headers& headers, long long content_length, bool keep_alive) {
  std::string head = "HTTP/1.1 " + std::to_string(status) + " ";
  head += reason_phrase(status);
  head += "\r\n";
  for (const auto& [name, value] : headers) {
    head += name;
    head += ": ";
    head += value;
    head += "\r\n";
  }
  if (content_length >= 0) head += "Content-Length: " + std::to_string(content_length) + "\r\n";
  head += keep_alive ? "Connection: keep-alive\r\n" : "Connection: close\r\n";
  head += "\r\n";
  return head;
}

}  // namespace gateway
