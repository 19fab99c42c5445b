// The OpenAI chat-completions wire format: request validation, response objects, token estimates.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/http_types.h"
#include "gateway/models.h"
#include "gateway/plugin.h"

namespace gateway::openai {

/// What the gateway itself needs from a valid chat request.
struct ChatRequestInfo {
  const ModelInfo* model = nullptr;
  bool stream = false;
  bool include_usage = false;
};

/// Parses and validates a chat-completions body; an OpenAI error response when it is invalid.
std::variant<ChatRequestInfo, LocalResponse> validate_chat_request(const std::string& body,
                                                                   nlohmann::json& parsed,
                                                                   const ModelCatalog& models);

/// The `stop` sequences of a chat request (a string or an array of strings), in order; empty
/// when it has none. Its validity is checked by validate_chat_request.
std::vector<std::string> stop_sequences(const nlohmann::json& chat);

/// Rough token counter: characters of three or more UTF-8 bytes (CJK, emoji) count one token
/// each, other text one token per four bytes. Text may be added in pieces.
class TokenEstimator {
 public:
  void add(std::string_view text);
  std::int64_t tokens() const { return wide_ + (narrow_bytes_ + 3) / 4; }

 private:
  std::int64_t wide_ = 0;
  std::int64_t narrow_bytes_ = 0;
};

/// TokenEstimator over one piece of text.
std::int64_t estimate_tokens(std::string_view text);

/// Estimated prompt tokens of a chat request's messages (text parts only, plus per-message
/// overhead as OpenAI counts it).
std::int64_t estimate_prompt_tokens(const nlohmann::json& messages);

nlohmann::json usage_json(const Usage& usage);

const char* finish_reason_name(FinishReason reason);

/// One `chat.completion.chunk` object.
nlohmann::json chunk(const std::string& id, std::int64_t created, const std::string& model,
                     nlohmann::json delta, const char* finish_reason);

/// The stream's last chunk before [DONE] when include_usage is set: no choices, the usage.
nlohmann::json usage_chunk(const std::string& id, std::int64_t created, const std::string& model,
                           const Usage& usage);

/// The final non-streamed `chat.completion` object.
nlohmann::json completion(const std::string& id, std::int64_t created, const std::string& model,
                          const std::string& content, const std::string& reasoning, FinishReason reason,
                          const Usage& usage);

/// Serialises `value` as one SSE event: "data: …\n\n". Invalid UTF-8 is replaced, never sent.
std::string sse_event(const nlohmann::json& value);

}  // namespace gateway::openai
