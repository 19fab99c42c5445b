// The OpenAI response objects as the gateway built them before the JSON writer: json trees,
// dumped. Kept verbatim as the reference the writer must match byte for byte, and as the
// benchmark's "before".
#include "reference/tree_chat_format.h"

#include "openai/chat_format.h"

namespace gateway::openai::tree_reference {
namespace {

nlohmann::json usage_json(const Usage& usage) {
  return {{"prompt_tokens", usage.prompt_tokens},
          {"completion_tokens", usage.completion_tokens},
          {"total_tokens", usage.prompt_tokens + usage.completion_tokens}};
}

/// The fields every completion object and chunk share, with one choice.
nlohmann::json envelope(const char* object, const std::string& id, std::int64_t created,
                        const std::string& model, nlohmann::json choices) {
  return {{"id", id},
          {"object", object},
          {"created", created},
          {"model", model},
          {"system_fingerprint", nullptr},
          {"choices", std::move(choices)}};
}

nlohmann::json chunk(const std::string& id, std::int64_t created, const std::string& model,
                     nlohmann::json delta, const char* finish_reason) {
  nlohmann::json choice{
      {"index", 0},
      {"delta", std::move(delta)},
      {"logprobs", nullptr},
      {"finish_reason", finish_reason ? nlohmann::json(finish_reason) : nlohmann::json(nullptr)}};
  return envelope("chat.completion.chunk", id, created, model, nlohmann::json::array({std::move(choice)}));
}

nlohmann::json usage_chunk(const std::string& id, std::int64_t created, const std::string& model,
                           const Usage& usage) {
  auto value = envelope("chat.completion.chunk", id, created, model, nlohmann::json::array());
  value["usage"] = usage_json(usage);
  return value;
}

nlohmann::json completion(const std::string& id, std::int64_t created, const std::string& model,
                          const std::string& content, const std::string& reasoning, FinishReason reason,
                          const Usage& usage) {
  nlohmann::json message{{"role", "assistant"}, {"content", content}, {"refusal", nullptr}};
  if (!reasoning.empty()) message["reasoning_content"] = reasoning;
  nlohmann::json choice{{"index", 0},
                        {"message", std::move(message)},
                        {"logprobs", nullptr},
                        {"finish_reason", finish_reason_name(reason)}};
  auto value = envelope("chat.completion", id, created, model, nlohmann::json::array({std::move(choice)}));
  value["usage"] = usage_json(usage);
  return value;
}

std::string sse_event(const nlohmann::json& value) {
  return "data: " + value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n\n";
}

}  // namespace

std::string chunk_event(const std::string& id, std::int64_t created, const std::string& model,
                        nlohmann::json delta, const char* finish_reason, bool include_usage) {
  auto value = chunk(id, created, model, std::move(delta), finish_reason);
  if (include_usage) value["usage"] = nullptr;
  return sse_event(value);
}

std::string usage_event(const std::string& id, std::int64_t created, const std::string& model,
                        const Usage& usage) {
  return sse_event(usage_chunk(id, created, model, usage));
}

std::string completion_body(const std::string& id, std::int64_t created, const std::string& model,
                            const std::string& content, const std::string& reasoning, FinishReason reason,
                            const Usage& usage) {
  return completion(id, created, model, content, reasoning, reason, usage)
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace gateway::openai::tree_reference
