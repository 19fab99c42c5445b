// Incremental HTTP/1.1 request parser (RFC 9112). Pure logic: bytes in, requests or an error out.
// Linear in the bytes fed (scanning resumes where it stopped) and bounded by RequestLimits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/http_types.h"

namespace gateway {

/// Size limits of one request, checked as its bytes arrive.
struct RequestLimits {
  std::size_t max_request_line_bytes = 8192;  ///< request line, without its line ending
  std::size_t max_header_line_bytes = 8192;   ///< one header (or trailer, or chunk-size) line
  std::size_t max_header_count = 100;         ///< header lines of one request (trailers: the same)
  std::size_t max_head_bytes = 32768;         ///< request line and headers with their line endings
  std::size_t max_body_bytes = 8 * 1024 * 1024;
};

/// Why a request was refused: the status and OpenAI error code to answer with, and a message
/// written for the client.
struct RequestError {
  int status = 400;
  std::string code;
  std::string message;
};

/// Parses the requests of one connection in order. Line endings are CRLF; a bare LF is accepted
/// as well (as nginx does), a CR anywhere else is refused.
class RequestParser {
 public:
  enum class Result {
    NeedMore,  ///< everything buffered is parsed; the request is not complete yet
    Complete,  ///< take_request() returns it; later bytes stay buffered for the next one
    Failed,    ///< error() says why; the connection must be answered and closed
  };

  explicit RequestParser(RequestLimits limits = {});

  /// Buffers bytes from the client; parse() reads them.
  void feed(std::string_view bytes);
  /// Parses as far as the buffered bytes allow.
  Result parse();
  /// The request parse() reported Complete; the parser moves on to the next one.
  HttpRequest take_request();
  /// Valid after parse() returned Failed.
  const RequestError& error() const { return error_; }
  /// After Failed: the request's method, path and headers when the failure came after its head
  /// was complete (a body over the size limit, conflicting framing), so the refusal can be
  /// answered and accounted like any other request. Empty otherwise, or when already taken.
  std::optional<HttpRequest> take_refused_head();
  /// True once per request: its head asked for `Expect: 100-continue` and no byte of its body
  /// has arrived yet, so the client waits for `100 Continue`.
  bool take_continue_request();
  /// Bytes received and not yet consumed by a request.
  std::size_t buffered() const { return buffer_.size() - pos_; }
  /// Some bytes of a request that is not complete yet have arrived.
  bool has_partial_request() const;

 private:
  enum class Stage { RequestLine, Headers, Body, ChunkSize, ChunkData, ChunkDataEnd, Trailers, Done, Failed };
  enum class Line { Found, NeedMore, TooLong };
  enum class Field { Found, End, NeedMore, Failed };

  /// The next line (without its ending) if complete; TooLong as soon as more than `limit` bytes
  /// without a line ending are buffered.
  Line next_line(std::size_t limit, std::string_view& line, std::size_t& line_bytes);
  /// Bytes of the current, not yet terminated line.
  std::size_t pending_line_bytes() const;
  // Each step consumes what it can and returns whether parsing moved on (a failure does).
  bool fail(int status, std::string code, std::string message);
  bool fail_head_too_large();
  bool fail_too_large();
  bool parse_request_line();
  /// The next header or trailer line (`kind` names it in messages) checked against the head
  /// limits and counted in `bytes` and `count`: a field, the blank line that ends the block, or a
  /// failure already recorded.
  Field next_field(std::string_view kind, std::size_t& bytes, std::size_t& count, std::string_view& name,
                   std::string_view& value);
  bool parse_header_line();
  bool finish_head();
  bool copy_body(std::uint64_t& remaining);
  bool parse_chunk_size();
  bool parse_chunk_data_end();
  bool parse_trailer_line();

  RequestLimits limits_;
  std::string buffer_;
  std::size_t pos_ = 0;   ///< first byte not consumed
  std::size_t scan_ = 0;  ///< where the search for the next line ending resumes (>= pos_)
  Stage stage_ = Stage::RequestLine;
  RequestError error_;
  HttpRequest request_;
  std::size_t head_bytes_ = 0;
  std::size_t header_count_ = 0;
  std::size_t trailer_bytes_ = 0;
  std::size_t trailer_count_ = 0;
  std::uint64_t body_remaining_ = 0;
  std::uint64_t chunk_remaining_ = 0;
  bool expects_continue_ = false;
  bool continue_due_ = false;
  bool head_complete_ = false;  ///< every header line of the current request was read
};

}  // namespace gateway
