// A small writer for one-line JSON objects (JSON Lines), used by the JSON log format: one pass
// over the values, no document tree, and escaping that no byte sequence can break.
#pragma once

#include <chrono>
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
  JsonObjectWriter& string(std::string_view name, std::string_view value);
  /// `value`, or null when it is empty (a fixed field with nothing to say).
  JsonObjectWriter& string_or_null(std::string_view name, std::string_view value);
  JsonObjectWriter& number(std::string_view name, std::int64_t value);
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

}  // namespace gateway
