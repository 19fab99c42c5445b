// Extracts the answer (`code`) and `commentary` from Fragments' JSON text as it streams, chunk
// by chunk, without ever holding the whole body (pure logic).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "json_string_decoder.h"

namespace e2b::fragments {

/// Newly decoded text from one feed() call: only complete UTF-8 characters, JSON escapes decoded.
struct ParsedText {
  std::string code;
  std::string commentary;
};

/// How the body looked once it ended.
enum class BodyShape {
  CompleteObject,   // a top-level JSON object that closed (trailing text after it is ignored)
  TruncatedObject,  // started as a JSON object but the body ended before it closed
  NotJson,          // did not start with '{' (after whitespace): prose, ```json fences, …
  Empty             // no non-whitespace bytes at all
};

struct ParseOutcome {
  BodyShape shape = BodyShape::Empty;
  /// Text still pending at the end (normally empty; a body cut inside `code`/`commentary` can
  /// leave an incomplete character here, as U+FFFD).
  ParsedText rest;
  /// NotJson, or TruncatedObject with syntax_error: the text to show instead (see
  /// fallback_text()). Empty otherwise.
  std::string fallback;
  /// The streamed top-level object had a "code" key whose value was a string.
  bool code_was_string = false;
  /// The body started as a JSON object but broke JSON syntax; extraction stopped there.
  bool syntax_error = false;
};

/// Most raw body bytes kept for the fallback text; later bytes are dropped.
inline constexpr std::size_t kMaxBufferedBody = std::size_t{8} << 20;

/// Most container nesting accepted inside the streamed object before it counts as a syntax error.
inline constexpr std::size_t kMaxNesting = 512;

/// The reply to show for a body that is not a streamed JSON object: the text trimmed and
/// cleaned of a surrounding ``` / ```lang fence. If that text (or, failing that, the first
/// fenced block inside prose) is a JSON object, its string "code" is returned, or its
/// "commentary" when code is empty or missing. Always valid UTF-8.
std::string fallback_text(std::string_view raw);

/// Incrementally extracts the top-level "code" and "commentary" string values from the streamed
/// Fragments JSON text, from byte chunks split anywhere (inside escapes such as \n \" \\ \uXXXX,
/// between the two halves of a surrogate pair \ud83d\ude00, inside raw multi-byte UTF-8
/// characters).
///
/// Tolerated, because losing a readable reply is worse than accepting sloppy JSON: trailing
/// commas, loose number syntax and the string leniencies of JsonStringDecoder. Any other syntax
/// error stops extraction for good (see ParseOutcome::syntax_error).
///
/// Each byte is looked at once (O(n) overall). Call finish() once, after the last feed().
class FragmentStreamParser {
 public:
  /// Consumes the next bytes of the body; returns the text completed by them.
  ParsedText feed(std::string_view bytes);
  /// Ends the body and reports its shape.
  ParseOutcome finish();
  /// Before finish(): the top-level object has closed, so later bytes are ignored.
  [[nodiscard]] bool object_closed() const noexcept { return mode_ == Mode::Closed; }

 private:
  enum class Mode : std::uint8_t { Start, Json, NotJson, Closed, Error, Finished };
  enum class Expect : std::uint8_t { KeyOrClose, Colon, Value, ValueOrClose, CommaOrClose };
  enum class Token : std::uint8_t { None, TopKey, Skipped, Code, Commentary, Literal };

  std::size_t plain_run(std::string_view bytes, ParsedText& out);
  void step(char c, ParsedText& out);
  void structural(char c);
  void begin_value_string();
  void end_literal();
  void buffer_raw(std::string_view bytes);

  Mode mode_ = Mode::Start;
  Expect expect_ = Expect::KeyOrClose;
  Token token_ = Token::None;
  Expect after_skipped_ = Expect::CommaOrClose;  // what follows the string being skipped
  bool skip_escape_ = false;
  bool key_overflow_ = false;
  bool literal_numeric_ok_ = true;
  bool code_was_string_ = false;
  std::size_t literal_len_ = 0;
  std::string stack_;    // one '{' or '[' per open container
  std::string key_;      // decoded current top-level key (bounded, see key_overflow_)
  std::string literal_;  // first bytes of the current number / true / false / null
  JsonStringDecoder decoder_;
  std::string raw_;  // raw body for the fallback text, capped at kMaxBufferedBody
};

}  // namespace e2b::fragments
