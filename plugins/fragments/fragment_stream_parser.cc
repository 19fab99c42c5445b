// Incremental extraction of `code` and `commentary` from Fragments' streamed JSON text.
#include "fragment_stream_parser.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>

#include "gateway/json_limits.h"

namespace e2b::fragments {
namespace {

// Longest top-level key worth remembering: "commentary" has 10 bytes.
constexpr std::size_t kMaxKeyBytes = 16;
constexpr std::size_t kMaxLiteralBytes = 8;
constexpr std::string_view kFence = "```";

constexpr bool is_json_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
constexpr bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
constexpr bool is_word_start(char c) {
  return c == 't' || c == 'f' || c == 'n';
}
constexpr bool is_literal_start(char c) {
  return c == '-' || is_digit(c) || is_word_start(c);
}
constexpr bool is_number_char(char c) {
  return is_digit(c) || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}
constexpr bool is_literal_char(char c) {
  return is_number_char(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

std::string_view trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n\f\v";
  const auto first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
}

/// The reply inside a JSON object text: its string "code", else its "commentary" when code is
/// empty or missing. nullopt when `text` is not such an object.
std::optional<std::string> reply_from_object(std::string_view text) {
  if (text.empty() || text.front() != '{') return std::nullopt;
  const auto json = gateway::parse_bounded_json(text).value;
  if (json.is_discarded() || !json.is_object()) return std::nullopt;
  const auto code = json.find("code");
  const bool code_is_string = code != json.end() && code->is_string();
  if (code_is_string && !code->get_ref<const std::string&>().empty()) return code->get<std::string>();
  const auto commentary = json.find("commentary");
  if (commentary != json.end() && commentary->is_string()) return commentary->get<std::string>();
  if (code_is_string) return std::string{};
  return std::nullopt;
}

/// Contents of the first ```lang … ``` block in `text`, if it has one.
std::optional<std::string_view> first_fenced_block(std::string_view text) {
  const auto open = text.find(kFence);
  if (open == std::string_view::npos) return std::nullopt;
  const auto line_end = text.find('\n', open);
  if (line_end == std::string_view::npos) return std::nullopt;
  const auto close = text.find(kFence, line_end + 1);
  if (close == std::string_view::npos) return std::nullopt;
  return trim(text.substr(line_end + 1, close - line_end - 1));
}

}  // namespace

std::string fallback_text(std::string_view raw) {
  const std::string_view text = trim(raw);
  std::string_view cleaned = text;
  if (cleaned.starts_with(kFence)) {
    const auto line_end = cleaned.find('\n');
    // "```lang" opens a line; without a newline only the backticks can be told apart.
    cleaned = trim(line_end == std::string_view::npos ? cleaned.substr(kFence.size())
                                                      : cleaned.substr(line_end + 1));
    if (cleaned.ends_with(kFence)) cleaned = trim(cleaned.substr(0, cleaned.size() - kFence.size()));
  }
  if (auto reply = reply_from_object(cleaned)) return std::move(*reply);
  // Models also write "Here is the JSON:\n```json\n{…}\n```".
  if (const auto block = first_fenced_block(text)) {
    if (auto reply = reply_from_object(*block)) return std::move(*reply);
  }
  std::string out;
  append_valid_utf8(cleaned, out);
  return out;
}

ParsedText FragmentStreamParser::feed(std::string_view bytes) {
  ParsedText out;
  if (mode_ == Mode::Closed || mode_ == Mode::Finished) return out;
  buffer_raw(bytes);
  for (std::size_t i = 0; i < bytes.size();) {
    if (const std::size_t run = plain_run(bytes.substr(i), out); run != 0) {
      i += run;
      continue;
    }
    step(bytes[i++], out);
    if (mode_ == Mode::Closed) {
      std::string().swap(raw_);  // a closed object never needs the fallback
      break;
    }
    if (mode_ == Mode::NotJson || mode_ == Mode::Error) break;  // only buffered from now on
  }
  return out;
}

ParseOutcome FragmentStreamParser::finish() {
  ParseOutcome outcome;
  outcome.code_was_string = code_was_string_;
  switch (mode_) {
    case Mode::Start:
    case Mode::Finished:
      outcome.shape = BodyShape::Empty;
      break;
    case Mode::NotJson:
      outcome.shape = BodyShape::NotJson;
      outcome.fallback = fallback_text(raw_);
      break;
    case Mode::Json:
      outcome.shape = BodyShape::TruncatedObject;
      if (token_ == Token::Code) decoder_.finish(outcome.rest.code);
      if (token_ == Token::Commentary) decoder_.finish(outcome.rest.commentary);
      break;
    case Mode::Error:
      // A syntax error means the end of the object is unknown, so it never counts as complete:
      // TruncatedObject plus syntax_error, and the whole raw body becomes the fallback.
      outcome.shape = BodyShape::TruncatedObject;
      outcome.syntax_error = true;
      outcome.fallback = fallback_text(raw_);
      break;
    case Mode::Closed:
      outcome.shape = BodyShape::CompleteObject;
      break;
  }
  mode_ = Mode::Finished;
  std::string().swap(raw_);
  return outcome;
}

void FragmentStreamParser::buffer_raw(std::string_view bytes) {
  const std::size_t room = kMaxBufferedBody - std::min(raw_.size(), kMaxBufferedBody);
  raw_.append(bytes.substr(0, std::min(room, bytes.size())));
}

std::size_t FragmentStreamParser::plain_run(std::string_view bytes, ParsedText& out) {
  // Per-byte stepping is already O(n); copying runs of plain ASCII at once makes long replies
  // and long skipped values cheap too.
  const bool target = token_ == Token::Code || token_ == Token::Commentary;
  if (mode_ != Mode::Json || !(target ? decoder_.idle() : token_ == Token::Skipped && !skip_escape_)) {
    return 0;
  }
  // Skipped strings are not decoded, so only a quote or backslash ends their run.
  const auto end = std::find_if(bytes.begin(), bytes.end(), [target](char c) {
    return c == '"' || c == '\\' || (target && static_cast<unsigned char>(c) >= 0x80);
  });
  const auto run = static_cast<std::size_t>(end - bytes.begin());
  if (target) (token_ == Token::Code ? out.code : out.commentary).append(bytes.substr(0, run));
  return run;
}

void FragmentStreamParser::step(char c, ParsedText& out) {
  if (mode_ == Mode::Start) {
    if (is_json_space(c)) return;
    if (c == '{') {
      mode_ = Mode::Json;
      stack_.assign(1, '{');
      expect_ = Expect::KeyOrClose;
    } else {
      mode_ = Mode::NotJson;
    }
    return;
  }
  if (mode_ != Mode::Json) return;

  switch (token_) {
    case Token::TopKey:
      if (decoder_.push(c, key_)) {
        token_ = Token::None;
        expect_ = Expect::Colon;
      } else if (key_.size() > kMaxKeyBytes) {
        key_overflow_ = true;
        key_.clear();
      }
      return;
    case Token::Skipped:
      if (skip_escape_) {
        skip_escape_ = false;
      } else if (c == '\\') {
        skip_escape_ = true;
      } else if (c == '"') {
        token_ = Token::None;
        expect_ = after_skipped_;
      }
      return;
    case Token::Code:
    case Token::Commentary:
      if (decoder_.push(c, token_ == Token::Code ? out.code : out.commentary)) {
        token_ = Token::None;
        expect_ = Expect::CommaOrClose;
      }
      return;
    case Token::Literal:
      if (is_literal_char(c)) {
        if (literal_.size() < kMaxLiteralBytes) literal_ += c;
        ++literal_len_;
        literal_numeric_ok_ = literal_numeric_ok_ && is_number_char(c);
        return;
      }
      end_literal();
      if (mode_ != Mode::Json) return;
      break;  // `c` ends the literal and is structural itself
    case Token::None:
      break;
  }
  structural(c);
}

void FragmentStreamParser::structural(char c) {
  if (is_json_space(c)) return;
  switch (expect_) {
    case Expect::KeyOrClose:
      if (c == '"') {
        skip_escape_ = false;
        if (stack_.size() == 1) {
          token_ = Token::TopKey;
          key_.clear();
          key_overflow_ = false;
          decoder_.reset();
        } else {
          token_ = Token::Skipped;
          after_skipped_ = Expect::Colon;
        }
        return;
      }
      if (c == '}') break;  // "{}" or a trailing comma: tolerated, see ValueOrClose
      mode_ = Mode::Error;
      return;
    case Expect::Colon:
      if (c == ':') {
        expect_ = Expect::Value;
      } else {
        mode_ = Mode::Error;
      }
      return;
    case Expect::ValueOrClose:
      if (c == ']') break;
      [[fallthrough]];
    case Expect::Value:
      if (c == '"') {
        begin_value_string();
      } else if ((c == '{' || c == '[') && stack_.size() < kMaxNesting) {
        stack_ += c;
        expect_ = c == '{' ? Expect::KeyOrClose : Expect::ValueOrClose;
      } else if (is_literal_start(c)) {
        token_ = Token::Literal;
        literal_.assign(1, c);
        literal_len_ = 1;
        literal_numeric_ok_ = !is_word_start(c);
      } else {
        mode_ = Mode::Error;
      }
      return;
    case Expect::CommaOrClose:
      if (c == ',') {
        // Expecting "key-or-close" after a comma lets a trailing comma through: models write
        // them now and then, and rejecting the object would throw away a readable reply.
        expect_ = stack_.back() == '{' ? Expect::KeyOrClose : Expect::ValueOrClose;
        return;
      }
      if ((c == '}' && stack_.back() == '{') || (c == ']' && stack_.back() == '[')) break;
      mode_ = Mode::Error;
      return;
  }
  // Reached only for a bracket that closes the innermost container.
  stack_.pop_back();
  if (stack_.empty()) {
    mode_ = Mode::Closed;
  } else {
    expect_ = Expect::CommaOrClose;
  }
}

void FragmentStreamParser::begin_value_string() {
  skip_escape_ = false;
  // At depth 1 a value always follows a top-level key (the root is an object, not an array).
  const bool top = stack_.size() == 1 && !key_overflow_;
  if (top && key_ == "code") {
    token_ = Token::Code;
    code_was_string_ = true;
    decoder_.reset();
  } else if (top && key_ == "commentary") {
    token_ = Token::Commentary;
    decoder_.reset();
  } else {
    token_ = Token::Skipped;
    after_skipped_ = Expect::CommaOrClose;
  }
}

void FragmentStreamParser::end_literal() {
  token_ = Token::None;
  // Numbers are only checked for their character set: their value is never used, and the
  // check is there to catch prose, not to validate JSON.
  bool ok = literal_numeric_ok_;
  if (is_word_start(literal_.front())) {
    ok = literal_len_ <= 5 && (literal_ == "true" || literal_ == "false" || literal_ == "null");
  }
  if (ok) {
    expect_ = Expect::CommaOrClose;
  } else {
    mode_ = Mode::Error;
  }
}

}  // namespace e2b::fragments
