// Fuzzes the HTTP/1.1 request parser, the most exposed code of the gateway: any bytes, under
// limits chosen by the input, fed in any chunking, must yield the same requests and the same
// refusal as the same bytes fed in one piece, and stay within the limits.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "server/request_parser.h"

namespace {

using gateway::RequestParser;

/// What a connection's bytes turned into: the complete requests, then the refusal, if any.
struct Parsed {
  std::vector<gateway::HttpRequest> requests;
  bool failed = false;
  int status = 0;
  std::string code;
  std::string message;
};

bool same_request(const gateway::HttpRequest& a, const gateway::HttpRequest& b) {
  return a.method == b.method && a.path == b.path && a.query == b.query && a.headers == b.headers &&
         a.body == b.body && a.version == b.version;
}

/// Feeds the bytes as `feed_all` cuts them, taking every complete request as the server does.
template <typename FeedAll>
Parsed parse(const gateway::RequestLimits& limits, FeedAll&& feed_all) {
  RequestParser parser(limits);
  Parsed out;
  feed_all([&](std::string_view piece) {
    if (out.failed) return;
    parser.feed(piece);
    (void)parser.take_continue_request();
    for (;;) {
      const auto result = parser.parse();
      if (result == RequestParser::Result::NeedMore) return;
      if (result == RequestParser::Result::Failed) {
        out.failed = true;
        out.status = parser.error().status;
        out.code = parser.error().code;
        out.message = parser.error().message;
        FUZZ_CHECK(out.status >= 400 && out.status < 600);
        (void)parser.take_refused_head();
        return;
      }
      auto request = parser.take_request();
      FUZZ_CHECK(request.body.size() <= limits.max_body_bytes);
      FUZZ_CHECK(request.headers.size() <= limits.max_header_count);
      out.requests.push_back(std::move(request));
    }
  });
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  gateway::RequestLimits limits;
  if (input.ConsumeBool()) {
    // Small limits, so inputs of a few hundred bytes reach them, related as config.yaml's
    // listen section requires: the head holds at least one longest line, one header at least.
    limits.max_request_line_bytes = input.ConsumeIntegralInRange<std::size_t>(1, 256);
    limits.max_header_line_bytes = input.ConsumeIntegralInRange<std::size_t>(1, 256);
    limits.max_header_count = input.ConsumeIntegralInRange<std::size_t>(1, 16);
    limits.max_head_bytes = input.ConsumeIntegralInRange<std::size_t>(
        std::max(limits.max_request_line_bytes, limits.max_header_line_bytes), 1024);
    limits.max_body_bytes = input.ConsumeIntegralInRange<std::size_t>(0, 1024);
  }
  const auto sizes = fuzz::chunk_sizes(input);
  const auto bytes = input.ConsumeRemainingBytesAsString();

  const auto whole = parse(limits, [&](auto&& feed) { feed(bytes); });
  const auto chunked = parse(limits, [&](auto&& feed) { fuzz::feed_in_chunks(bytes, sizes, feed); });

  FUZZ_CHECK(chunked.requests.size() == whole.requests.size());
  for (std::size_t i = 0; i < whole.requests.size(); ++i)
    FUZZ_CHECK(same_request(chunked.requests[i], whole.requests[i]));
  FUZZ_CHECK(chunked.failed == whole.failed);
  if (chunked.status != whole.status) {
    std::fprintf(stderr, "one piece: %d %s (%s)\nin chunks: %d %s (%s)\n", whole.status, whole.code.c_str(),
                 whole.message.c_str(), chunked.status, chunked.code.c_str(), chunked.message.c_str());
    FUZZ_CHECK(chunked.status == whole.status);
  }
  return 0;
}
