// OpenAI chat-completions validation, response objects and token estimates.
#include "openai/chat_format.h"

#include <set>

#include "gateway/chat_params.h"
#include "gateway/json_limits.h"
#include "gateway/json_writer.h"

namespace gateway::openai {
namespace {

LocalResponse invalid(std::string_view message, std::string_view param,
                      std::string_view code = "invalid_value") {
  return openai_error(400, "invalid_request_error", code, message, param);
}

std::optional<LocalResponse> validate_messages(const nlohmann::json& messages) {
  if (!messages.is_array())
    return invalid("'messages' must be an array of message objects", "messages",
                   "missing_required_parameter");
  if (messages.empty())
    return invalid("'messages' must contain at least one message", "messages", "empty_array");
  static const std::set<std::string> roles{"system", "developer", "user", "assistant", "tool", "function"};
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i];
    const std::string at = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) return invalid(at + " must be an object", at);
    if (!m.contains("role") || !m["role"].is_string() || !roles.count(m["role"].get<std::string>())) {
      return invalid(at + ".role must be one of system, developer, user, assistant, tool", at + ".role");
    }
    if (m.contains("content")) {
      const auto& c = m["content"];
      if (!(c.is_string() || c.is_array() || c.is_null())) {
        return invalid(at + ".content must be a string or an array of content parts", at + ".content");
      }
      if (c.is_array()) {
        for (std::size_t j = 0; j < c.size(); ++j) {
          const std::string part = at + ".content[" + std::to_string(j) + "]";
          if (!c[j].is_object() || !c[j].contains("type") || !c[j]["type"].is_string()) {
            return invalid(part + " must be an object with a 'type'", part);
          }
          if (c[j]["type"] == "text" && !(c[j].contains("text") && c[j]["text"].is_string())) {
            return invalid(part + ".text must be a string", part + ".text");
          }
        }
      }
    }
  }
  return std::nullopt;
}

/// The `stop` sequences of a chat request (none when absent or null), or the 400 when they break
/// OpenAI's rule: a string or an array of up to 4 non-empty strings.
std::variant<std::vector<std::string>, LocalResponse> read_stop(const nlohmann::json& chat) {
  std::vector<std::string> sequences;
  const auto found = chat.find("stop");
  if (found == chat.end() || found->is_null()) return sequences;
  constexpr std::string_view kRule = "'stop' must be a string or an array of up to 4 non-empty strings";
  if (found->is_array() && found->size() > 4) return invalid(kRule, "stop");
  if (!found->is_string() && !found->is_array()) return invalid(kRule, "stop", "invalid_type");
  for (const auto& sequence : found->is_array() ? *found : nlohmann::json::array({*found})) {
    if (!sequence.is_string()) return invalid(kRule, "stop", "invalid_type");
    if (sequence.get_ref<const std::string&>().empty()) return invalid(kRule, "stop");
    sequences.push_back(sequence.get<std::string>());
  }
  return sequences;
}

/// The token budget fields must hold positive integers; the first one present is used.
std::optional<LocalResponse> validate_max_tokens(const nlohmann::json& chat) {
  for (const char* field : kMaxTokensFields) {
    const auto found = chat.find(field);
    if (found == chat.end() || found->is_null()) continue;
    if (!requested_max_tokens(chat)) {
      return invalid(std::string("'") + field + "' must be a positive integer", field, "invalid_type");
    }
    return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

std::variant<ChatRequestInfo, LocalResponse> validate_chat_request(const std::string& body,
                                                                   nlohmann::json& parsed,
                                                                   const ModelCatalog& models) {
  auto bounded = parse_bounded_json(body);
  if (bounded.failure == JsonFailure::TooDeep) {
    return openai_error(400, "invalid_request_error", "invalid_json",
                        too_deep_message("The request body") + ". Send a flatter JSON body.");
  }
  if (!bounded.ok()) {
    return openai_error(400, "invalid_request_error", "invalid_json",
                        "We could not parse the JSON body of your request. Send valid JSON.");
  }
  parsed = std::move(bounded.value);
  if (!parsed.is_object()) return invalid("The request body must be a JSON object", "", "invalid_json");
  if (!parsed.contains("model") || !parsed["model"].is_string() ||
      parsed["model"].get<std::string>().empty()) {
    return invalid("You must provide a model parameter", "model", "missing_required_parameter");
  }
  if (!parsed.contains("messages")) {
    return invalid("Missing required parameter: 'messages'", "messages", "missing_required_parameter");
  }
  if (auto error = validate_messages(parsed["messages"])) return *error;

  ChatRequestInfo info;
  if (parsed.contains("stream") && !parsed["stream"].is_null()) {
    if (!parsed["stream"].is_boolean())
      return invalid("'stream' must be a boolean", "stream", "invalid_type");
    info.stream = parsed["stream"].get<bool>();
  }
  if (parsed.contains("stream_options") && !parsed["stream_options"].is_null()) {
    const auto& options = parsed["stream_options"];
    if (!options.is_object())
      return invalid("'stream_options' must be an object", "stream_options", "invalid_type");
    if (!info.stream)
      return invalid("'stream_options' is only allowed when 'stream' is true", "stream_options");
    if (options.contains("include_usage")) {
      if (!options["include_usage"].is_boolean()) {
        return invalid("'stream_options.include_usage' must be a boolean", "stream_options.include_usage",
                       "invalid_type");
      }
      info.include_usage = options["include_usage"].get<bool>();
    }
  }
  if (auto stop = read_stop(parsed); std::holds_alternative<LocalResponse>(stop)) {
    return std::get<LocalResponse>(std::move(stop));
  }
  if (auto error = validate_max_tokens(parsed)) return *error;
  const auto model_id = parsed["model"].get<std::string>();
  info.model = models.find(model_id);
  if (info.model == nullptr) {
    return openai_error(404, "invalid_request_error", "model_not_found",
                        "The model `" + model_id + "` does not exist or you do not have access to it.",
                        "model");
  }
  return info;
}

std::vector<std::string> stop_sequences(const nlohmann::json& chat) {
  auto stop = read_stop(chat);  // validated already: an error here reads as no sequences
  return std::holds_alternative<LocalResponse>(stop) ? std::vector<std::string>{}
                                                     : std::get<std::vector<std::string>>(std::move(stop));
}

void TokenEstimator::add(std::string_view text) {
  for (unsigned char c : text) {
    if (c >= 0xE0) {
      ++wide_;  // lead byte of a 3- or 4-byte character; its continuation bytes are skipped
    } else if (c < 0x80 || c >= 0xC0) {
      ++narrow_bytes_;
    }
  }
}

std::int64_t estimate_tokens(std::string_view text) {
  TokenEstimator estimator;
  estimator.add(text);
  return estimator.tokens();
}

std::int64_t estimate_prompt_tokens(const nlohmann::json& messages) {
  constexpr std::int64_t kPerMessage = 4;
  constexpr std::int64_t kReplyPriming = 3;
  std::int64_t total = kReplyPriming;
  for (const auto& m : messages) {
    total += kPerMessage;
    if (!m.contains("content")) continue;
    const auto& c = m["content"];
    if (c.is_string()) {
      total += estimate_tokens(c.get_ref<const std::string&>());
    } else if (c.is_array()) {
      for (const auto& part : c) {
        if (part.contains("text") && part["text"].is_string())
          total += estimate_tokens(part["text"].get_ref<const std::string&>());
      }
    }
  }
  return total;
}

const char* finish_reason_name(FinishReason reason) {
  return reason == FinishReason::Length ? "length" : "stop";
}

namespace {

/// Room for an object's fixed fields, on top of its text.
constexpr std::size_t kEnvelopeBytes = 256;

void append_usage(std::string& out, const Usage& usage) {
  JsonObjectWriter(out)
      .number("completion_tokens", usage.completion_tokens)
      .number("prompt_tokens", usage.prompt_tokens)
      .number("total_tokens", usage.prompt_tokens + usage.completion_tokens)
      .close();
}

/// The fields every completion object and chunk share after their `choices`.
void finish_envelope(JsonObjectWriter& fields, const char* object, const AnswerIdentity& answer) {
  fields.number("created", answer.created)
      .string("id", answer.id)
      .string("model", answer.model)
      .string("object", object)
      .null("system_fingerprint");
}

void append_delta(std::string& out, const ChunkDelta& delta) {
  JsonObjectWriter fields(out);
  if (delta.opening) {
    fields.string("content", "").string("role", "assistant");
  } else if (!delta.text.empty()) {
    fields.string(delta.reasoning ? "reasoning_content" : "content", delta.text);
  }
  fields.close();
}

}  // namespace

std::string chunk(const AnswerIdentity& answer, const ChunkDelta& delta, const char* finish_reason,
                  bool null_usage) {
  std::string out;
  out.reserve(kEnvelopeBytes + delta.text.size() + answer.model.size());
  JsonObjectWriter fields(out);
  JsonArrayWriter choices(fields.field("choices"));
  JsonObjectWriter choice(choices.item());
  append_delta(choice.field("delta"), delta);
  if (finish_reason != nullptr) {
    choice.string("finish_reason", finish_reason);
  } else {
    choice.null("finish_reason");
  }
  choice.number("index", 0).null("logprobs").close();
  choices.close();
  finish_envelope(fields, "chat.completion.chunk", answer);
  if (null_usage) fields.null("usage");
  fields.close();
  return out;
}

std::string usage_chunk(const AnswerIdentity& answer, const Usage& usage) {
  std::string out;
  out.reserve(kEnvelopeBytes + answer.model.size());
  JsonObjectWriter fields(out);
  fields.field("choices") += "[]";
  finish_envelope(fields, "chat.completion.chunk", answer);
  append_usage(fields.field("usage"), usage);
  fields.close();
  return out;
}

std::string completion(const AnswerIdentity& answer, std::string_view content, std::string_view reasoning,
                       FinishReason reason, const Usage& usage) {
  std::string out;
  out.reserve(kEnvelopeBytes + content.size() + reasoning.size() + answer.model.size());
  JsonObjectWriter fields(out);
  JsonArrayWriter choices(fields.field("choices"));
  JsonObjectWriter choice(choices.item());
  choice.string("finish_reason", finish_reason_name(reason)).number("index", 0).null("logprobs");
  JsonObjectWriter message(choice.field("message"));
  message.string("content", content);
  if (!reasoning.empty()) message.string("reasoning_content", reasoning);
  message.null("refusal").string("role", "assistant").close();
  choice.close();
  choices.close();
  finish_envelope(fields, "chat.completion", answer);
  append_usage(fields.field("usage"), usage);
  fields.close();
  return out;
}

std::string sse_event(std::string_view json_text) {
  std::string out;
  out.reserve(json_text.size() + 8);
  out += "data: ";
  out += json_text;
  out += "\n\n";
  return out;
}

}  // namespace gateway::openai
