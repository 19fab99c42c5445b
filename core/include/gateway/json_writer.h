// A small writer of JSON text straight into a string: one pass over the values, no document tree,
// and escaping that no byte sequence can break. Used by the JSON log format and by the hot path
// (the OpenAI response envelopes, the Fragments request body), where it writes the same bytes as
// nlohmann::json's dump(-1, ' ', false, error_handler_t::replace) of the equivalent tree as long
// as the caller writes the fields in the tree's (sorted) key order.
#pragma once

#include <chrono>
#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gateway {

/// Appends `text` as a quoted JSON string: quotes, backslashes and control characters are
/// escaped, and each invalid UTF-8 sequence becomes U+FFFD (as nlohmann::json's dump does with
/// error_handler_t::replace), so the result always parses.
void append_json_string(std::string& out, std::string_view text);

/// Appends `time` as an RFC 3339 UTC timestamp with milliseconds: 2026-12-01T09:58:27.123Z.
void append_utc_time(std::string& out, std::chrono::system_clock::time_point time);

/// Appends `time` as a quoted RFC 3339 UTC timestamp with milliseconds: "2026-12-01T09:58:27.123Z".
void append_json_time(std::string& out, std::chrono::system_clock::time_point time);

/// Appends the fields of one JSON object to a caller's string: `{` on construction, `}` on
/// close(). Field names are written as given; they are the program's own constants.
class JsonObjectWriter {
 public:
  explicit JsonObjectWriter(std::string& out) : out_(out) { out_ += '{'; }
  /// Writes the field's name and returns the string its value must be appended to next (a
  /// nested writer, or JSON text made elsewhere).
  std::string& field(std::string_view name);
  JsonObjectWriter& string(std::string_view name, std::string_view value);
  /// `value`, or null when it is empty (a fixed field with nothing to say).
  JsonObjectWriter& string_or_null(std::string_view name, std::string_view value);
  JsonObjectWriter& number(std::string_view name, std::int64_t value);
  /// Refused at compile time: a double would silently become an integer here, and its text must
  /// match nlohmann's (Grisu2 digits, which std::to_chars does not always give), so a
  /// floating-point value is written by nlohmann itself through field().
  template <std::floating_point Real>
  JsonObjectWriter& number(std::string_view name, Real value) = delete;
  /// `value`, or null when there is none.
  JsonObjectWriter& number_or_null(std::string_view name, std::optional<std::int64_t> value);
  JsonObjectWriter& boolean(std::string_view name, bool value);
  /// `value`, or null when there is none.
  JsonObjectWriter& boolean_or_null(std::string_view name, std::optional<bool> value);
  JsonObjectWriter& null(std::string_view name);
  JsonObjectWriter& time(std::string_view name, std::chrono::system_clock::time_point value);
  void close() { out_ += '}'; }

 private:
  void name(std::string_view name);
  std::string& out_;
  bool first_ = true;
};

/// Appends the items of one JSON array to a caller's string: `[` on construction, `]` on close().
class JsonArrayWriter {
 public:
  explicit JsonArrayWriter(std::string& out) : out_(out) { out_ += '['; }
  /// Writes the separator before the next item and returns the string the item must be appended to.
  std::string& item() {
    if (!first_) out_ += ',';
    first_ = false;
    return out_;
  }
  void close() { out_ += ']'; }

 private:
  std::string& out_;
  bool first_ = true;
};

}  // namespace gateway
