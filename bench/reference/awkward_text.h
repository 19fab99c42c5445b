// Random text of every kind JSON escaping must handle, for the tests that compare the JSON writer
// with the json trees it replaced.
#pragma once

#include <array>
#include <random>
#include <string>
#include <string_view>

namespace gateway::testing_text {

/// Up to `max_pieces` pieces of plain words, quotes, backslashes, control characters, multi-byte
/// UTF-8, ill-formed bytes (stray, truncated, overlong, surrogate) and random bytes.
inline std::string awkward_text(std::mt19937& random, int max_pieces = 12) {
  static constexpr std::array<std::string_view, 14> kPieces = {"hello",
                                                               " ",
                                                               "\"",
                                                               "\\",
                                                               "\n",
                                                               "\t",
                                                               std::string_view("\0", 1),
                                                               "\x1f\x7f",
                                                               "h\xC3\xA9llo",
                                                               "\xE4\xB8\xAD\xE6\x96\x87",
                                                               "\xF0\x9F\x98\x80",
                                                               "\xFF\xFE",
                                                               "\xE4\xB8",
                                                               "\xC0\xAF\xED\xA0\x80"};
  std::uniform_int_distribution<int> count(0, max_pieces);
  std::uniform_int_distribution<std::size_t> piece(0, kPieces.size());  // one past: a random byte
  std::uniform_int_distribution<int> byte(0, 255);
  std::string text;
  for (int i = count(random); i > 0; --i) {
    const std::size_t which = piece(random);
    if (which == kPieces.size()) {
      text += static_cast<char>(byte(random));
    } else {
      text += kPieces[which];
    }
  }
  return text;
}

}  // namespace gateway::testing_text
