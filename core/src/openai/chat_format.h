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

const char* finish_reason_name(FinishReason reason);

// The response objects are written as JSON text straight away (no json tree): they are built
// for every answer and every streamed chunk. Their fields come in the order of their names, the
// order nlohmann::json (a std::map) has always written them in.

/// What every object of one answer repeats.
struct AnswerIdentity {
  std::string_view id;  ///< chatcmpl-…
  std::int64_t created = 0;
  std::string_view model;  ///< the model the client asked for
};

/// The delta of one chunk: the opening one names the role, the others carry one kind of text or
/// nothing (the last, which has the finish reason).
struct ChunkDelta {
  bool opening = false;     ///< {"content":"","role":"assistant"}
  bool reasoning = false;   ///< the text is reasoning_content rather than content
  std::string_view text{};  ///< empty: an empty delta
};

/// One `chat.completion.chunk` object. `null_usage`: the client asked for usage, so every chunk
/// before the usage chunk says "usage": null.
std::string chunk(const AnswerIdentity& answer, const ChunkDelta& delta, const char* finish_reason,
                  bool null_usage);

/// The stream's last chunk before [DONE] when include_usage is set: no choices, the usage.
std::string usage_chunk(const AnswerIdentity& answer, const Usage& usage);

/// The final non-streamed `chat.completion` object.
std::string completion(const AnswerIdentity& answer, std::string_view content, std::string_view reasoning,
                       FinishReason reason, const Usage& usage);

/// One SSE event carrying `json_text` (one line, as the writers above make it): "data: …\n\n".
std::string sse_event(std::string_view json_text);

}  // namespace gateway::openai
