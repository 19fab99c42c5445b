// What the streaming parser tests share: feeding a body to the parser whole, in given parts
// or byte by byte, with every emitted piece checked to be valid UTF-8 on its own.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fragment_stream_parser.h"

namespace e2b::fragments::parser_testing {

/// U+FFFD, the replacement character, as UTF-8.
inline constexpr std::string_view kFffd = "\xEF\xBF\xBD";

// Strict UTF-8 check, written independently of the parser's own Utf8Assembler.
inline bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t n = 1;
    std::uint32_t cp = b;
    if (b >= 0x80) {
      if ((b & 0xE0) == 0xC0)
        n = 2, cp = b & 0x1F;
      else if ((b & 0xF0) == 0xE0)
        n = 3, cp = b & 0x0F;
      else if ((b & 0xF8) == 0xF0)
        n = 4, cp = b & 0x07;
      else
        return false;
      if (i + n > s.size()) return false;
      for (std::size_t k = 1; k < n; ++k) {
        const auto c = static_cast<unsigned char>(s[i + k]);
        if ((c & 0xC0) != 0x80) return false;
        cp = (cp << 6) | (c & 0x3F);
      }
      if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
          (cp >= 0xD800 && cp <= 0xDFFF))
        return false;
    }
    i += n;
  }
  return true;
}

/// Everything one sequence of feed() calls produced.
struct Fed {
  std::vector<ParsedText> pieces;
  ParseOutcome outcome;
  std::string code, commentary;  // all pieces plus outcome.rest
  bool pieces_valid = true;
};

inline Fed feed_all(const std::vector<std::string_view>& parts) {
  FragmentStreamParser parser;
  Fed run;
  auto take = [&run](const ParsedText& t) {
    run.pieces_valid = run.pieces_valid && valid_utf8(t.code) && valid_utf8(t.commentary);
    run.code += t.code;
    run.commentary += t.commentary;
  };
  for (std::string_view part : parts) take(run.pieces.emplace_back(parser.feed(part)));
  run.outcome = parser.finish();
  take(run.outcome.rest);
  return run;
}

inline Fed feed_bytes(std::string_view body) {
  std::vector<std::string_view> parts;
  for (std::size_t i = 0; i < body.size(); ++i) parts.push_back(body.substr(i, 1));
  return feed_all(parts);
}

}  // namespace e2b::fragments::parser_testing
