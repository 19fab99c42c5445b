// Fuzzes the Fragments stream parser: any bytes, fed in any chunking, must decode to exactly what
// the same bytes fed in one piece decode to, and every text it produces must be valid UTF-8.
#include <string>

#include "fragment_stream_parser.h"
#include "fuzz_support.h"

namespace {

using e2b::fragments::FragmentStreamParser;
using e2b::fragments::ParseOutcome;

/// Everything a parse produced: the text of every feed() plus what finish() reported.
struct Decoded {
  std::string code;
  std::string commentary;
  ParseOutcome outcome;
};

template <typename FeedAll>
Decoded decode(FeedAll&& feed_all) {
  FragmentStreamParser parser;
  Decoded out;
  feed_all([&](std::string_view piece) {
    auto text = parser.feed(piece);
    FUZZ_CHECK(fuzz::valid_utf8(text.code));
    FUZZ_CHECK(fuzz::valid_utf8(text.commentary));
    out.code += text.code;
    out.commentary += text.commentary;
  });
  out.outcome = parser.finish();
  out.code += out.outcome.rest.code;
  out.commentary += out.outcome.rest.commentary;
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  const auto sizes = fuzz::chunk_sizes(input);
  const auto body = input.ConsumeRemainingBytesAsString();

  const auto whole = decode([&](auto&& feed) { feed(body); });
  const auto chunked = decode([&](auto&& feed) { fuzz::feed_in_chunks(body, sizes, feed); });

  FUZZ_CHECK(chunked.code == whole.code);
  FUZZ_CHECK(chunked.commentary == whole.commentary);
  FUZZ_CHECK(chunked.outcome.shape == whole.outcome.shape);
  FUZZ_CHECK(chunked.outcome.fallback == whole.outcome.fallback);
  FUZZ_CHECK(chunked.outcome.code_was_string == whole.outcome.code_was_string);
  FUZZ_CHECK(chunked.outcome.syntax_error == whole.outcome.syntax_error);
  FUZZ_CHECK(fuzz::valid_utf8(whole.code) && fuzz::valid_utf8(whole.commentary));
  FUZZ_CHECK(fuzz::valid_utf8(whole.outcome.fallback));
  // Decoding never inflates: an escape or an ill-formed byte yields at most 3 bytes of U+FFFD.
  FUZZ_CHECK(whole.code.size() + whole.commentary.size() <= 3 * body.size());
  FUZZ_CHECK(fuzz::valid_utf8(e2b::fragments::fallback_text(body)));
  return 0;
}
