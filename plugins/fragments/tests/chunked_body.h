// Test helper: turns a captured Fragments body into the chunkings the parser tests feed it.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace e2b::fragments::test {

/// One captured HTTP/1.1 response with its chunked body decoded.
struct CapturedResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // wire order and case
  std::string body;
  std::vector<std::string> chunks;  // payload of each data chunk, in wire order
  bool terminated = false;          // the 0-size chunk was seen (never, without chunking)
};

/// Parses raw response bytes: status line, headers, then a chunked body (or, without
/// Transfer-Encoding: chunked, everything after the head). A body cut short keeps what arrived.
CapturedResponse parse_captured_response(std::string_view raw);

/// Reads `path` and parses it; throws std::runtime_error when the file cannot be read.
CapturedResponse load_capture(const std::string& path);

}  // namespace e2b::fragments::test
