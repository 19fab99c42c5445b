// JSON string-escape and raw UTF-8 decoding that accepts its input in arbitrary pieces.
#include "json_string_decoder.h"

namespace e2b::fragments {
namespace {

constexpr bool is_high_surrogate(std::uint32_t cp) {
  return cp >= 0xD800 && cp <= 0xDBFF;
}
constexpr bool is_low_surrogate(std::uint32_t cp) {
  return cp >= 0xDC00 && cp <= 0xDFFF;
}

int hex_value(unsigned char b) {
  if (b >= '0' && b <= '9') return b - '0';
  if (b >= 'a' && b <= 'f') return b - 'a' + 10;
  if (b >= 'A' && b <= 'F') return b - 'A' + 10;
  return -1;
}

}  // namespace

void append_utf8(std::uint32_t code_point, std::string& out) {
  const std::uint32_t cp = code_point;
  if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
    out += kReplacementChar;
  } else if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

void Utf8Assembler::push(unsigned char b, std::string& out) {
  if (need_ != 0) {
    if (b >= lo_ && b <= hi_) {
      buf_[len_++] = static_cast<char>(b);
      lo_ = 0x80;
      hi_ = 0xBF;
      if (--need_ == 0) {
        out.append(buf_, len_);
        len_ = 0;
      }
      return;
    }
    // The sequence broke off: replace it, then treat `b` as the start of something new.
    finish(out);
  }
  if (b < 0x80) {
    out += static_cast<char>(b);
    return;
  }
  // Second-byte ranges follow the Unicode well-formed table, which rules out overlongs,
  // encoded surrogates (ED A0..BF) and code points above U+10FFFF.
  if (b >= 0xC2 && b <= 0xDF) {
    need_ = 1;
  } else if (b >= 0xE0 && b <= 0xEF) {
    need_ = 2;
    if (b == 0xE0) lo_ = 0xA0;
    if (b == 0xED) hi_ = 0x9F;
  } else if (b >= 0xF0 && b <= 0xF4) {
    need_ = 3;
    if (b == 0xF0) lo_ = 0x90;
    if (b == 0xF4) hi_ = 0x8F;
  } else {
    out += kReplacementChar;
    return;
  }
  buf_[0] = static_cast<char>(b);
  len_ = 1;
}

void Utf8Assembler::finish(std::string& out) {
  if (need_ != 0) out += kReplacementChar;
  need_ = 0;
  len_ = 0;
  lo_ = 0x80;
  hi_ = 0xBF;
}

void append_valid_utf8(std::string_view in, std::string& out) {
  out.reserve(out.size() + in.size());
  Utf8Assembler utf8;
  for (char c : in) utf8.push(static_cast<unsigned char>(c), out);
  utf8.finish(out);
}

bool JsonStringDecoder::push(char c, std::string& out) {
  const auto b = static_cast<unsigned char>(c);
  bool closed = false;
  switch (state_) {
    case State::Text:
      closed = text(b, out);
      break;
    case State::Escape:
      closed = escape(b, out);
      break;
    case State::Hex:
      closed = hex(b, out);
      break;
    case State::AfterHigh:
      if (b == '\\') {
        state_ = State::AfterHighEscape;
        return false;
      }
      out += kReplacementChar;
      high_ = 0;
      state_ = State::Text;
      closed = text(b, out);
      break;
    case State::AfterHighEscape:
      if (b == 'u') {
        state_ = State::Hex;
        hex_ = 0;
        hex_digits_ = 0;
        return false;
      }
      out += kReplacementChar;
      high_ = 0;
      closed = escape(b, out);
      break;
  }
  if (closed) reset();
  return closed;
}

void JsonStringDecoder::finish(std::string& out) {
  if (state_ != State::Text || high_ != 0) out += kReplacementChar;
  utf8_.finish(out);
  reset();
}

bool JsonStringDecoder::text(unsigned char b, std::string& out) {
  if (b == '"' || b == '\\') {
    utf8_.finish(out);
    if (b == '"') return true;
    state_ = State::Escape;
    return false;
  }
  utf8_.push(b, out);
  return false;
}

bool JsonStringDecoder::escape(unsigned char b, std::string& out) {
  state_ = State::Text;
  switch (b) {
    case '"':
      out += '"';
      return false;
    case '\\':
      out += '\\';
      return false;
    case '/':
      out += '/';
      return false;
    case 'b':
      out += '\b';
      return false;
    case 'f':
      out += '\f';
      return false;
    case 'n':
      out += '\n';
      return false;
    case 'r':
      out += '\r';
      return false;
    case 't':
      out += '\t';
      return false;
    case 'u':
      state_ = State::Hex;
      hex_ = 0;
      hex_digits_ = 0;
      return false;
    default:
      // Models write \' or \a; keeping the character beats dropping the reply.
      return text(b, out);
  }
}

bool JsonStringDecoder::hex(unsigned char b, std::string& out) {
  const int v = hex_value(b);
  if (v >= 0) {
    hex_ = hex_ * 16 + static_cast<std::uint32_t>(v);
    if (++hex_digits_ == 4) code_point(hex_, out);
    return false;
  }
  if (high_ != 0) out += kReplacementChar;
  high_ = 0;
  out += kReplacementChar;
  state_ = State::Text;
  return text(b, out);
}

void JsonStringDecoder::code_point(std::uint32_t cp, std::string& out) {
  state_ = State::Text;
  if (high_ != 0) {
    const std::uint32_t high = high_;
    high_ = 0;
    if (is_low_surrogate(cp)) {
      append_utf8(0x10000 + ((high - 0xD800) << 10) + (cp - 0xDC00), out);
      return;
    }
    out += kReplacementChar;
  }
  if (is_high_surrogate(cp)) {
    high_ = cp;
    state_ = State::AfterHigh;
    return;
  }
  append_utf8(cp, out);  // a lone low surrogate comes out as U+FFFD
}

}  // namespace e2b::fragments
