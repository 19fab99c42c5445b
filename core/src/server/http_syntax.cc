// HTTP/1.1 syntax pieces the request parser is built from (see http_syntax.h).
#include "server/http_syntax.h"

#include <algorithm>

#include "gateway/http_types.h"

namespace gateway {

bool is_tchar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool is_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return is_tchar(c); });
}

bool is_field_text(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c == '\t' || (c >= 0x20 && c != 0x7f);
  });
}

std::string_view trim_ows(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::vector<std::string_view> list_elements(std::string_view value) {
  std::vector<std::string_view> out;
  for (;;) {
    const auto comma = value.find(',');
    out.push_back(trim_ows(value.substr(0, comma)));
    if (comma == std::string_view::npos) return out;
    value.remove_prefix(comma + 1);
  }
}

std::optional<std::uint64_t> parse_decimal(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = std::min(kLengthCap, value * 10 + static_cast<std::uint64_t>(c - '0'));
  }
  return value;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && equals_ignoring_case(text.substr(0, prefix.size()), prefix);
}

std::optional<std::string> split_field_line(std::string_view line, std::string_view& name,
                                            std::string_view& value) {
  if (line.front() == ' ' || line.front() == '\t') {
    return "Header lines must not start with whitespace (folded header lines are not supported)";
  }
  const auto colon = line.find(':');
  if (colon == std::string_view::npos) return "Every header line must have the form Name: value";
  name = line.substr(0, colon);
  if (!is_token(name)) {
    return "Header names must be tokens, with no spaces or other separators before the colon";
  }
  value = trim_ows(line.substr(colon + 1));
  if (!is_field_text(value)) return "Header values must not contain control characters";
  return std::nullopt;
}

void parse_query(std::string_view query, std::map<std::string, std::string>& out) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    if (!pair.empty()) {
      const auto eq = pair.find('=');
      const auto name = pair.substr(0, eq);
      const auto value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
      out.try_emplace(url_decode(name), url_decode(value));  // the first occurrence wins
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
}

std::string url_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
               hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace gateway
