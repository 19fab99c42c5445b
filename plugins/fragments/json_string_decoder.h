// Decodes the contents of a JSON string fed in arbitrary pieces: escapes, surrogate pairs and raw
// UTF-8 split anywhere, emitting only complete characters (pure logic).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace e2b::fragments {

/// U+FFFD REPLACEMENT CHARACTER, UTF-8 encoded.
inline constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";

/// Appends the UTF-8 encoding of a Unicode scalar value to `out` (surrogates and values above
/// U+10FFFF become U+FFFD).
void append_utf8(std::uint32_t code_point, std::string& out);

/// Reassembles raw UTF-8 fed one byte at a time. Only complete, well-formed characters are
/// appended to the output; ill-formed bytes (stray continuations, overlongs, encoded surrogates,
/// truncated sequences) become U+FFFD, so the output is always valid UTF-8.
class Utf8Assembler {
 public:
  void push(unsigned char byte, std::string& out);
  /// True while a multi-byte character is incomplete.
  [[nodiscard]] bool pending() const noexcept { return need_ != 0; }
  /// Ends the input: an incomplete character becomes U+FFFD.
  void finish(std::string& out);

 private:
  char buf_[4] = {};
  std::uint8_t len_ = 0;
  std::uint8_t need_ = 0;   // continuation bytes still missing
  std::uint8_t lo_ = 0x80;  // allowed range of the next continuation byte
  std::uint8_t hi_ = 0xBF;
};

/// Appends `in` to `out` with ill-formed UTF-8 replaced by U+FFFD.
void append_valid_utf8(std::string_view in, std::string& out);

/// Incrementally decodes the contents of one JSON string (the bytes after its opening quote),
/// one byte at a time. Output only ever holds complete characters: an escape (\n, \uXXXX, a
/// surrogate pair) or a raw multi-byte character is appended once its last byte arrives.
///
/// Lenient on purpose, because the text comes from an LLM and losing the reply is worse than
/// accepting sloppy JSON: unknown escapes (\' \a) yield the escaped character itself, a broken
/// \u escape or a lone surrogate yields U+FFFD, raw control characters pass through and
/// ill-formed raw UTF-8 becomes U+FFFD.
class JsonStringDecoder {
 public:
  /// Consumes one byte; returns true when it was the closing quote (the decoder is then reset).
  bool push(char c, std::string& out);
  /// Ends the string early (truncated body): anything pending becomes one U+FFFD.
  void finish(std::string& out);
  void reset() noexcept { *this = JsonStringDecoder{}; }
  /// Nothing is pending, so a plain ASCII byte (not '"' or '\\') would be copied as is.
  [[nodiscard]] bool idle() const noexcept { return state_ == State::Text && !utf8_.pending(); }

 private:
  enum class State : std::uint8_t { Text, Escape, Hex, AfterHigh, AfterHighEscape };

  bool text(unsigned char b, std::string& out);
  bool escape(unsigned char b, std::string& out);
  bool hex(unsigned char b, std::string& out);
  void code_point(std::uint32_t cp, std::string& out);

  Utf8Assembler utf8_;
  State state_ = State::Text;
  std::uint8_t hex_digits_ = 0;
  std::uint32_t hex_ = 0;
  std::uint32_t high_ = 0;  // pending high surrogate from a \uD8xx escape, 0 if none
};

}  // namespace e2b::fragments
