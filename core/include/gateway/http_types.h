// Plain HTTP values shared by the core and plugins, and the one place OpenAI-shaped errors are
// built.
#pragma once

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace gateway {

/// Header list in arrival order; names of request headers are lower-case.
using Headers = std::vector<std::pair<std::string, std::string>>;

/// ASCII lower case (HTTP names and tokens are ASCII; other bytes are left as they are).
constexpr char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

inline std::string to_lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), ascii_lower);
  return out;
}

/// Whether `a` and `b` are equal but for ASCII case.
constexpr bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

/// First header called `name` (compared case-insensitively), if any.
inline std::optional<std::string> find_header(const Headers& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (equals_ignoring_case(key, name)) return value;
  }
  return std::nullopt;
}

/// Replaces every header called `name` with one `name: value`.
inline void set_header(Headers& headers, const std::string& name, std::string value) {
  std::erase_if(headers, [&](const auto& h) { return equals_ignoring_case(h.first, name); });
  headers.emplace_back(name, std::move(value));
}

/// A request as the gateway received it.
struct HttpRequest {
  std::string method;
  std::string path;  ///< without the query string
  std::map<std::string, std::string> query;
  Headers headers;
  std::string body;
  std::string peer_address;
  std::string version = "HTTP/1.1";  ///< "HTTP/1.1" or "HTTP/1.0"
};

/// Whether the connection stays open after this request: for HTTP/1.1 unless the client sent
/// `Connection: close`, for HTTP/1.0 only when it sent `Connection: keep-alive`.
inline bool wants_keep_alive(const HttpRequest& request) {
  bool close = false;
  bool keep_alive = false;
  for (const auto& [name, value] : request.headers) {
    if (!equals_ignoring_case(name, "connection")) continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      auto option = rest.substr(0, comma);
      while (!option.empty() && (option.front() == ' ' || option.front() == '\t')) option.remove_prefix(1);
      while (!option.empty() && (option.back() == ' ' || option.back() == '\t')) option.remove_suffix(1);
      close = close || equals_ignoring_case(option, "close");
      keep_alive = keep_alive || equals_ignoring_case(option, "keep-alive");
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  if (close) return false;
  return request.version == "HTTP/1.0" ? keep_alive : true;
}

/// A complete response produced locally (errors, preflight answers, small JSON documents).
struct LocalResponse {
  int status = 200;
  Headers headers;
  std::string body;
};

/// Builds a JSON response.
inline LocalResponse json_response(int status, const nlohmann::json& body) {
  return LocalResponse{status,
                       {{"Content-Type", "application/json"}},
                       body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

/// The OpenAI error object `{"error":{"message","type","param","code"}}`.
inline nlohmann::json openai_error_body(std::string_view type, std::string_view code,
                                        std::string_view message, std::string_view param = {}) {
  return {{"error",
           {{"message", message},
            {"type", type},
            {"param", param.empty() ? nlohmann::json(nullptr) : nlohmann::json(param)},
            {"code", code.empty() ? nlohmann::json(nullptr) : nlohmann::json(code)}}}};
}

/// An OpenAI-shaped error response with the given HTTP status.
inline LocalResponse openai_error(int status, std::string_view type, std::string_view code,
                                  std::string_view message, std::string_view param = {}) {
  return json_response(status, openai_error_body(type, code, message, param));
}

/// The OpenAI-shaped 405 for a path that exists: `allow` goes to the Allow header, `use` names
/// the method(s) the message suggests.
inline LocalResponse method_not_allowed(std::string_view allow, std::string_view use) {
  auto response = openai_error(405, "invalid_request_error", "method_not_allowed",
                               "Method not allowed on this path; use " + std::string(use));
  response.headers.emplace_back("Allow", std::string(allow));
  return response;
}

}  // namespace gateway
