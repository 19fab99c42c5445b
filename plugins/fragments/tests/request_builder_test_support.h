// What the Fragments request builder tests share: results read back as JSON, checks of
// OpenAI-shaped 400s, and chat requests and message parts to build from.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "request_builder.h"

namespace e2b::fragments::request_testing {

using gateway::LocalResponse;
using nlohmann::json;

inline json as_json(const std::vector<FragmentsMessage>& messages) {
  std::string out;
  append_messages(out, messages);
  return json::parse(out);
}

inline json as_json(const CallParameters& parameters) {
  json config = json::object();
  for (const auto& [name, value] : parameters.numbers) config[std::string(name)] = value;
  if (parameters.max_tokens) config["maxTokens"] = *parameters.max_tokens;
  return config;
}

/// The body as sent to a target without provider keys.
inline json as_json(const FragmentsBody& body) {
  return json::parse(body.with_provider_key(json::object(), ""));
}

/// The JSON of a successful result; fails the test (and returns null) on an error response.
template <typename Value>
inline json ok(const std::variant<Value, LocalResponse>& result) {
  if (const auto* error = std::get_if<LocalResponse>(&result)) {
    ADD_FAILURE() << "unexpected error " << error->status << ": " << error->body;
    return nullptr;
  }
  return as_json(std::get<Value>(result));
}

/// Checks an OpenAI-shaped 400 error and returns its `error` object.
inline json expect_400(const LocalResponse& response, const std::string& code, const std::string& param) {
  EXPECT_EQ(response.status, 400);
  const json body = json::parse(response.body);
  const json& error = body.at("error");
  EXPECT_EQ(error.at("type"), "invalid_request_error");
  EXPECT_EQ(error.at("code"), code);
  EXPECT_EQ(error.at("param"), param);
  EXPECT_TRUE(error.at("message").is_string());
  EXPECT_FALSE(error.at("message").get<std::string>().empty());
  return error;
}

template <typename Value>
json expect_400(const std::variant<Value, LocalResponse>& result, const std::string& code,
                const std::string& param) {
  const auto* error = std::get_if<LocalResponse>(&result);
  if (error == nullptr) {
    ADD_FAILURE() << "expected an error, got " << as_json(std::get<Value>(result)).dump();
    return nullptr;
  }
  return expect_400(*error, code, param);
}

inline json chat_with(json extra) {
  json chat{{"model", "gpt-4o-mini"}, {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}};
  if (extra.is_object()) chat.update(extra);
  return chat;
}

inline json text_part(const std::string& text) {
  return {{"type", "text"}, {"text", text}};
}
inline json image_part(const std::string& url) {
  return {{"type", "image_url"}, {"image_url", {{"url", url}}}};
}
inline json user_text(const std::string& text) {
  return {{"role", "user"}, {"content", json::array({text_part(text)})}};
}

inline constexpr const char* kDataUrl = "data:image/png;base64,iVBORw0KGgo=";

}  // namespace e2b::fragments::request_testing
