// JSON text written straight into a string: escaping, timestamps, objects.
#include "gateway/json_writer.h"

#include <array>
#include <cstdio>
#include <ctime>

namespace gateway {
namespace {

constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

/// How many bytes at the start of `text` form one well-formed UTF-8 character (Unicode table
/// 3-7), or, as a negative number, how many form the maximal subpart of an ill-formed one: the
/// bytes one U+FFFD replaces before reading resumes at the first byte that broke the sequence.
int utf8_sequence(std::string_view text) {
  const auto byte = [&text](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  int length = 0;
  unsigned char second_min = 0x80;
  unsigned char second_max = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) second_min = 0xA0;  // no overlong forms
    if (lead == 0xED) second_max = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) second_min = 0x90;  // no overlong forms
    if (lead == 0xF4) second_max = 0x8F;  // nothing above U+10FFFF
  } else {
    return -1;  // a continuation byte, C0, C1 or F5..FF cannot start a character
  }
  for (int i = 1; i < length; ++i) {
    if (static_cast<std::size_t>(i) >= text.size()) return -i;
    const unsigned char min = i == 1 ? second_min : 0x80;
    const unsigned char max = i == 1 ? second_max : 0xBF;
    if (byte(i) < min || byte(i) > max) return -i;
  }
  return length;
}

/// The bytes a JSON string holds as they are: printable ASCII but the quote and the backslash.
/// A table, as a byte-by-byte comparison makes the copy of long text three times slower.
constexpr std::array<bool, 256> kNeedsNoEscape = [] {
  std::array<bool, 256> table{};
  for (int c = 0x20; c < 0x80; ++c) table[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
  return table;
}();

void append_control_escape(std::string& out, unsigned char c) {
  switch (c) {
    case '\b':
      out += "\\b";
      return;
    case '\t':
      out += "\\t";
      return;
    case '\n':
      out += "\\n";
      return;
    case '\f':
      out += "\\f";
      return;
    case '\r':
      out += "\\r";
      return;
    default: {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
}

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (c < 0x20) {
      append_control_escape(out, c);
      ++i;
    } else if (c < 0x80) {
      // Runs of such bytes are copied in one go: most text is made of them.
      std::size_t end = i + 1;
      while (end < text.size() && kNeedsNoEscape[static_cast<unsigned char>(text[end])]) ++end;
      out.append(text, i, end - i);
      i = end;
    } else if (const int length = utf8_sequence(text.substr(i)); length > 0) {
      out.append(text, i, static_cast<std::size_t>(length));
      i += static_cast<std::size_t>(length);
    } else {
      out += kReplacementCharacter;
      i += static_cast<std::size_t>(-length);
    }
  }
  out += '"';
}

void append_json_time(std::string& out, std::chrono::system_clock::time_point time) {
  out += '"';
  append_utc_time(out, time);
  out += '"';
}

void append_utc_time(std::string& out, std::chrono::system_clock::time_point time) {
  using namespace std::chrono;
  const auto since_epoch = duration_cast<milliseconds>(time.time_since_epoch()).count();
  auto seconds = static_cast<std::time_t>(since_epoch / 1000);
  auto millis = since_epoch % 1000;
  if (millis < 0) {  // before 1970: floor, not truncate
    millis += 1000;
    --seconds;
  }
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  const int length = std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                                   utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                                   utc.tm_sec, static_cast<int>(millis));
  out.append(text, static_cast<std::size_t>(length));
}

void JsonObjectWriter::name(std::string_view name) {
  if (!first_) out_ += ',';
  first_ = false;
  append_json_string(out_, name);
  out_ += ':';
}

std::string& JsonObjectWriter::field(std::string_view name) {
  this->name(name);
  return out_;
}

JsonObjectWriter& JsonObjectWriter::string(std::string_view name, std::string_view value) {
  this->name(name);
  append_json_string(out_, value);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::string_or_null(std::string_view name, std::string_view value) {
  return value.empty() ? null(name) : string(name, value);
}

JsonObjectWriter& JsonObjectWriter::number(std::string_view name, std::int64_t value) {
  this->name(name);
  out_ += std::to_string(value);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::number_or_null(std::string_view name, std::optional<std::int64_t> value) {
  return value ? number(name, *value) : null(name);
}

JsonObjectWriter& JsonObjectWriter::boolean_or_null(std::string_view name, std::optional<bool> value) {
  return value ? boolean(name, *value) : null(name);
}

JsonObjectWriter& JsonObjectWriter::boolean(std::string_view name, bool value) {
  this->name(name);
  out_ += value ? "true" : "false";
  return *this;
}

JsonObjectWriter& JsonObjectWriter::null(std::string_view name) {
  this->name(name);
  out_ += "null";
  return *this;
}

JsonObjectWriter& JsonObjectWriter::time(std::string_view name, std::chrono::system_clock::time_point value) {
  this->name(name);
  append_json_time(out_, value);
  return *this;
}

}  // namespace gateway
