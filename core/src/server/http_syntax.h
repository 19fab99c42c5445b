// HTTP/1.1 syntax pieces the request parser is built from (RFC 9110, RFC 9112): tokens, field
// lines and values, list elements, decimal and hex digits, query strings. Pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gateway {

/// Saturation point of parsed lengths: far above any limit, far below overflow.
inline constexpr std::uint64_t kLengthCap = std::uint64_t{1} << 62;

/// A token character (tchar).
bool is_tchar(unsigned char c);

/// One or more token characters: a method or a field name.
bool is_token(std::string_view text);

/// Field values may hold visible characters, spaces, tabs and obs-text; no other control bytes.
bool is_field_text(std::string_view text);

/// `text` without its leading and trailing spaces and tabs.
std::string_view trim_ows(std::string_view text);

/// The elements of a comma-separated header value, trimmed; empty elements included.
std::vector<std::string_view> list_elements(std::string_view value);

/// 1*DIGIT, saturating at kLengthCap; nullopt for anything else (signs, exponents, spaces).
std::optional<std::uint64_t> parse_decimal(std::string_view text);

/// The value of a hex digit, or -1.
int hex_value(char c);

/// Whether `text` starts with `prefix`, ASCII letters compared without case.
bool starts_with_ignoring_case(std::string_view text, std::string_view prefix);

/// Splits `name: value`; returns a message for the client when the line is not a valid field.
std::optional<std::string> split_field_line(std::string_view line, std::string_view& name,
                                            std::string_view& value);

/// Adds the query string's name=value pairs to `out`, decoded; the first occurrence of a name wins.
void parse_query(std::string_view query, std::map<std::string, std::string>& out);

/// Decodes %XX escapes and '+' (a space) of a query-string name or value, as URL encoders
/// (URLSearchParams, urllib) write them. A malformed escape stays as it is.
std::string url_decode(std::string_view text);

}  // namespace gateway
