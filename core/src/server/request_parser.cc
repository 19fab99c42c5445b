// The incremental HTTP/1.1 request parser: request line, field lines, framing and chunked bodies.
#include "server/request_parser.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "server/http_syntax.h"

namespace gateway {
namespace {

std::string limit_message(std::string_view what, std::size_t limit, std::string_view setting) {
  return std::string(what) + " " + std::to_string(limit) + " bytes (listen." + std::string(setting) + ")";
}

constexpr std::string_view kMalformedRequestLine =
    "The request line must be METHOD /path HTTP/1.1, e.g. GET /v1/models HTTP/1.1";
constexpr std::string_view kMalformedChunks = "The chunked request body is malformed";

}  // namespace

RequestParser::RequestParser(RequestLimits limits) : limits_(limits) {}

void RequestParser::feed(std::string_view bytes) {
  if (stage_ == Stage::Failed) return;
  // Dropping the consumed prefix only once it is at least half the buffer keeps feeding linear.
  if (pos_ > 0 && pos_ * 2 >= buffer_.size()) {
    buffer_.erase(0, pos_);
    scan_ -= pos_;
    pos_ = 0;
  }
  buffer_.append(bytes);
}

bool RequestParser::has_partial_request() const {
  return stage_ != Stage::RequestLine || pos_ < buffer_.size();
}

bool RequestParser::take_continue_request() {
  return std::exchange(continue_due_, false);
}

std::size_t RequestParser::pending_line_bytes() const {
  return buffer_.size() - pos_;
}

RequestParser::Line RequestParser::next_line(std::size_t limit, std::string_view& line,
                                             std::size_t& line_bytes) {
  const auto lf = buffer_.find('\n', scan_);
  if (lf == std::string::npos) {
    scan_ = buffer_.size();
    std::size_t pending = pending_line_bytes();
    if (pending > 0 && buffer_.back() == '\r') --pending;  // may be the start of CRLF
    return pending > limit ? Line::TooLong : Line::NeedMore;
  }
  std::size_t end = lf;
  if (end > pos_ && buffer_[end - 1] == '\r') --end;
  if (end - pos_ > limit) return Line::TooLong;
  line = std::string_view(buffer_).substr(pos_, end - pos_);
  line_bytes = lf + 1 - pos_;
  pos_ = scan_ = lf + 1;
  return Line::Found;
}

bool RequestParser::fail(int status, std::string code, std::string message) {
  stage_ = Stage::Failed;
  error_ = RequestError{status, std::move(code), std::move(message)};
  return true;
}

bool RequestParser::fail_head_too_large() {
  return fail(431, "request_header_fields_too_large",
              limit_message("The request head is larger than", limits_.max_head_bytes, "max_head_bytes"));
}

bool RequestParser::fail_too_large() {
  return fail(413, "request_too_large",
              "Request exceeds the maximum size of " + std::to_string(limits_.max_body_bytes) +
                  " bytes (listen.max_request_bytes)");
}

RequestParser::Result RequestParser::parse() {
  for (;;) {
    bool progressed = false;
    switch (stage_) {
      case Stage::RequestLine:
        progressed = parse_request_line();
        break;
      case Stage::Headers:
        progressed = parse_header_line();
        break;
      case Stage::Body:
        progressed = copy_body(body_remaining_);
        if (body_remaining_ == 0) stage_ = Stage::Done;
        break;
      case Stage::ChunkSize:
        progressed = parse_chunk_size();
        break;
      case Stage::ChunkData:
        progressed = copy_body(chunk_remaining_);
        if (chunk_remaining_ == 0) stage_ = Stage::ChunkDataEnd;
        break;
      case Stage::ChunkDataEnd:
        progressed = parse_chunk_data_end();
        break;
      case Stage::Trailers:
        progressed = parse_trailer_line();
        break;
      case Stage::Done:
        return Result::Complete;
      case Stage::Failed:
        return Result::Failed;
    }
    if (!progressed) return Result::NeedMore;
  }
}

HttpRequest RequestParser::take_request() {
  HttpRequest out = std::move(request_);
  request_ = HttpRequest{};
  stage_ = Stage::RequestLine;
  head_bytes_ = header_count_ = trailer_bytes_ = trailer_count_ = 0;
  body_remaining_ = chunk_remaining_ = 0;
  expects_continue_ = continue_due_ = head_complete_ = false;
  return out;
}

std::optional<HttpRequest> RequestParser::take_refused_head() {
  if (stage_ != Stage::Failed || !head_complete_) return std::nullopt;
  head_complete_ = false;
  HttpRequest head = std::move(request_);
  request_ = HttpRequest{};
  head.body.clear();
  return head;
}

bool RequestParser::parse_request_line() {
  std::string_view line;
  std::size_t line_bytes = 0;
  switch (next_line(limits_.max_request_line_bytes, line, line_bytes)) {
    case Line::NeedMore:
      // No head check while the line is still arriving (next_line bounds it): whether it ends up
      // 414 (too long) or 431 (head too large) must not depend on where the bytes were cut.
      return false;
    case Line::TooLong:
      return fail(414, "uri_too_long",
                  limit_message("The request line is longer than", limits_.max_request_line_bytes,
                                "max_request_line_bytes"));
    case Line::Found:
      break;
  }
  head_bytes_ += line_bytes;
  if (head_bytes_ > limits_.max_head_bytes) return fail_head_too_large();
  if (line.empty()) return true;  // empty lines before a request line are ignored (RFC 9112 §2.2)

  const auto first_space = line.find(' ');
  if (first_space == std::string_view::npos)
    return fail(400, "bad_request", std::string(kMalformedRequestLine));
  const auto method = line.substr(0, first_space);
  auto rest = line.substr(first_space + 1);
  const auto second_space = rest.find(' ');
  if (!is_token(method) || second_space == std::string_view::npos) {
    return fail(400, "bad_request", std::string(kMalformedRequestLine));
  }
  auto target = rest.substr(0, second_space);
  const auto version = rest.substr(second_space + 1);
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    const bool other_version = version.starts_with("HTTP/") && version.size() > 5 && version[5] >= '0' &&
                               version[5] <= '9' &&
                               std::all_of(version.begin() + 5, version.end(),
                                           [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
    if (other_version) {
      return fail(505, "http_version_not_supported", "This server speaks HTTP/1.1 and HTTP/1.0 only");
    }
    return fail(400, "bad_request", std::string(kMalformedRequestLine));
  }
  const bool visible = std::all_of(target.begin(), target.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c > 0x20 && c < 0x7f;
  });
  if (target.empty() || !visible) return fail(400, "bad_request", std::string(kMalformedRequestLine));

  request_.method = std::string(method);
  request_.version = std::string(version);
  target = target.substr(0, target.find('#'));
  std::string path;
  if (target == "*" && method == "OPTIONS") {
    path = "*";
  } else if (target.front() == '/') {
    path = target.substr(0, target.find('?'));
  } else if (starts_with_ignoring_case(target, "http://") || starts_with_ignoring_case(target, "https://")) {
    const auto after_scheme = target.substr(target.find("//") + 2);
    const auto path_start = after_scheme.find_first_of("/?");
    if (path_start == 0) return fail(400, "bad_request", "The request target has no host");
    target = path_start == std::string_view::npos ? std::string_view("/") : after_scheme.substr(path_start);
    path = target.front() == '?' ? "/" : std::string(target.substr(0, target.find('?')));
  } else {
    return fail(400, "bad_request", "The request target must be a path such as /v1/models");
  }
  request_.path = std::move(path);
  if (const auto question = target.find('?'); question != std::string_view::npos) {
    parse_query(target.substr(question + 1), request_.query);
  }
  stage_ = Stage::Headers;
  return true;
}

RequestParser::Field RequestParser::next_field(std::string_view kind, std::size_t& bytes, std::size_t& count,
                                               std::string_view& name, std::string_view& value) {
  std::string_view line;
  std::size_t line_bytes = 0;
  switch (next_line(limits_.max_header_line_bytes, line, line_bytes)) {
    case Line::NeedMore:
      if (bytes + pending_line_bytes() <= limits_.max_head_bytes) return Field::NeedMore;
      fail_head_too_large();
      return Field::Failed;
    case Line::TooLong:
      fail(431, "request_header_fields_too_large",
           limit_message("A " + std::string(kind) + " line is longer than", limits_.max_header_line_bytes,
                         "max_header_line_bytes"));
      return Field::Failed;
    case Line::Found:
      break;
  }
  bytes += line_bytes;
  if (bytes > limits_.max_head_bytes) {
    fail_head_too_large();
    return Field::Failed;
  }
  if (line.empty()) return Field::End;
  if (++count > limits_.max_header_count) {
    fail(431, "request_header_fields_too_large",
         "The request has more than " + std::to_string(limits_.max_header_count) + " " + std::string(kind) +
             " lines (listen.max_header_count)");
    return Field::Failed;
  }
  if (auto problem = split_field_line(line, name, value)) {
    fail(400, "bad_request", std::move(*problem));
    return Field::Failed;
  }
  return Field::Found;
}

bool RequestParser::parse_header_line() {
  std::string_view name;
  std::string_view value;
  switch (next_field("header", head_bytes_, header_count_, name, value)) {
    case Field::NeedMore:
      return false;
    case Field::Failed:
      return true;
    case Field::End:
      return finish_head();
    case Field::Found:
      break;
  }
  request_.headers.emplace_back(to_lower(name), std::string(value));
  return true;
}

bool RequestParser::finish_head() {
  head_complete_ = true;
  bool has_transfer_encoding = false;
  bool has_content_length = false;
  std::vector<std::string> codings;
  std::optional<std::uint64_t> content_length;
  for (const auto& [name, value] : request_.headers) {
    if (name == "transfer-encoding") {
      has_transfer_encoding = true;
      for (auto coding : list_elements(value)) {
        if (!coding.empty()) codings.push_back(to_lower(coding));
      }
    } else if (name == "content-length") {
      has_content_length = true;
      for (auto element : list_elements(value)) {
        const auto length = parse_decimal(element);
        if (!length) {
          return fail(400, "bad_request", "The Content-Length header must be a non-negative decimal number");
        }
        if (content_length && *content_length != *length) {
          return fail(400, "bad_request", "The request has conflicting Content-Length values");
        }
        content_length = length;
      }
    } else if (name == "expect") {
      expects_continue_ = equals_ignoring_case(value, "100-continue");
    }
  }
  if (has_transfer_encoding) {
    if (request_.version == "HTTP/1.0") {
      return fail(400, "bad_request", "Transfer-Encoding is not allowed in an HTTP/1.0 request");
    }
    if (has_content_length) {
      return fail(400, "bad_request", "A request must not have both Transfer-Encoding and Content-Length");
    }
    if (codings != std::vector<std::string>{"chunked"}) {
      return fail(501, "not_implemented", "The only supported Transfer-Encoding for requests is chunked");
    }
    stage_ = Stage::ChunkSize;
  } else if (content_length && *content_length > 0) {
    if (*content_length > limits_.max_body_bytes) return fail_too_large();
    body_remaining_ = *content_length;
    stage_ = Stage::Body;
  } else {
    stage_ = Stage::Done;
  }
  continue_due_ =
      expects_continue_ && request_.version == "HTTP/1.1" && stage_ != Stage::Done && pos_ == buffer_.size();
  return true;
}

bool RequestParser::copy_body(std::uint64_t& remaining) {
  const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, buffered()));
  request_.body.append(buffer_, pos_, n);
  pos_ += n;
  scan_ = pos_;
  remaining -= n;
  return n > 0 || remaining == 0;
}

bool RequestParser::parse_chunk_size() {
  std::string_view line;
  std::size_t line_bytes = 0;
  switch (next_line(limits_.max_header_line_bytes, line, line_bytes)) {
    case Line::NeedMore:
      return false;
    case Line::TooLong:
      return fail(400, "bad_request", std::string(kMalformedChunks) + ": a chunk-size line is too long");
    case Line::Found:
      break;
  }
  std::uint64_t size = 0;
  std::size_t digits = 0;
  while (digits < line.size() && hex_value(line[digits]) >= 0) {
    size = std::min(kLengthCap, size * 16 + static_cast<std::uint64_t>(hex_value(line[digits])));
    ++digits;
  }
  const auto extension = trim_ows(line.substr(digits));
  if (digits == 0 || (!extension.empty() && extension.front() != ';') || !is_field_text(extension)) {
    return fail(400, "bad_request", std::string(kMalformedChunks));
  }
  if (size == 0) {
    stage_ = Stage::Trailers;
  } else if (size > limits_.max_body_bytes - std::min(limits_.max_body_bytes, request_.body.size())) {
    return fail_too_large();
  } else {
    chunk_remaining_ = size;
    stage_ = Stage::ChunkData;
  }
  return true;
}

bool RequestParser::parse_chunk_data_end() {
  if (buffered() == 0) return false;
  std::size_t ending = 0;
  if (buffer_[pos_] == '\n') {
    ending = 1;
  } else if (buffer_[pos_] == '\r') {
    if (buffered() < 2) return false;
    if (buffer_[pos_ + 1] == '\n') ending = 2;
  }
  if (ending == 0) return fail(400, "bad_request", std::string(kMalformedChunks));
  pos_ += ending;
  scan_ = pos_;
  stage_ = Stage::ChunkSize;
  return true;
}

bool RequestParser::parse_trailer_line() {
  std::string_view name;
  std::string_view value;
  switch (next_field("trailer", trailer_bytes_, trailer_count_, name, value)) {
    case Field::NeedMore:
      return false;
    case Field::End:
      stage_ = Stage::Done;
      return true;
    case Field::Failed:
    case Field::Found:
      return true;  // trailers are checked, then discarded: nothing in the gateway reads them
  }
  return true;
}

}  // namespace gateway
