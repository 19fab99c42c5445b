// Turns an OpenAI chat request into the body the Fragments upstream expects.
#include "request_builder.h"

#include <algorithm>
#include <limits>
#include <span>
#include <vector>

#include "gateway/chat_params.h"
#include "gateway/hex.h"
#include "gateway/json_writer.h"
#include "gateway/sha256.h"

namespace e2b::fragments {
namespace {

using gateway::JsonArrayWriter;
using gateway::JsonObjectWriter;
using gateway::LocalResponse;
using nlohmann::json;

LocalResponse bad_param(const std::string& param, const std::string& message,
                        const std::string& code = "invalid_value") {
  return gateway::openai_error(400, "invalid_request_error", code, message, param);
}

LocalResponse unsupported(const std::string& param, const std::string& message) {
  return bad_param(param, message, "unsupported_parameter");
}

struct MappedContent {
  std::string text;
  std::vector<std::string> images;  ///< their URLs
};

/// Text of a message's content with text parts joined by newlines, plus its image parts.
std::variant<MappedContent, LocalResponse> map_content(const json& content, const std::string& at,
                                                       bool allow_images) {
  MappedContent out;
  if (content.is_null()) return out;
  if (content.is_string()) {
    out.text = content.get<std::string>();
    return out;
  }
  for (std::size_t j = 0; j < content.size(); ++j) {
    const auto& part = content[j];
    const std::string where = at + ".content[" + std::to_string(j) + "]";
    const std::string type = part.value("type", "");
    if (type == "text") {
      if (!out.text.empty()) out.text += "\n";
      out.text += part["text"].get<std::string>();
    } else if (type == "image_url") {
      if (!allow_images) return bad_param(where, "This model does not accept images", "image_not_supported");
      const auto image = part.find("image_url");  // may be absent
      std::string url;
      if (image != part.end() && image->is_string()) url = image->get<std::string>();
      if (image != part.end() && image->is_object() && image->contains("url") && (*image)["url"].is_string())
        url = (*image)["url"].get<std::string>();
      if (url.empty()) return bad_param(where + ".image_url.url", "An image part needs a url");
      out.images.push_back(std::move(url));
    } else if (type == "input_audio" || type == "file") {
      return unsupported(where, "Content parts of type '" + type + "' are not supported by this gateway");
    } else {
      return bad_param(where + ".type", "Unknown content part type '" + type + "'");
    }
  }
  return out;
}

}  // namespace

std::variant<std::vector<FragmentsMessage>, LocalResponse> map_messages(const json& messages,
                                                                        bool multimodal) {
  // Consecutive same-role messages are gathered first and written as JSON once, so merging
  // many of them costs time in proportion to their size.
  std::vector<FragmentsMessage> merged;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const auto& m = messages[i];
    const std::string at = "messages[" + std::to_string(i) + "]";
    std::string role = m["role"].get<std::string>();
    if (role == "developer") role = "system";
    const bool is_user = role == "user";
    if (role == "tool" || role == "function") role = "user";  // tool results reach the model as text
    auto mapped = map_content(m.contains("content") ? m["content"] : json(nullptr), at, multimodal);
    if (auto* error = std::get_if<LocalResponse>(&mapped)) return *error;
    auto& content = std::get<MappedContent>(mapped);
    if (!content.images.empty() && !is_user) {
      return bad_param(at + ".content", "Only user messages may contain images", "image_not_supported");
    }
    if (m["role"] == "tool" || m["role"] == "function") content.text = "Tool result:\n" + content.text;
    if (content.text.empty() && content.images.empty()) continue;

    if (merged.empty() || merged.back().role != role) merged.push_back({role, {}, {}});
    auto& message = merged.back();
    if (!content.text.empty()) {
      if (!message.text.empty()) message.text += '\n';
      message.text += content.text;
    }
    for (auto& image : content.images) message.images.push_back(std::move(image));
  }
  return merged;
}

void append_messages(std::string& out, const std::vector<FragmentsMessage>& messages) {
  JsonArrayWriter list(out);
  for (const auto& message : messages) {
    JsonObjectWriter fields(list.item());
    if (message.role == "system") {
      fields.string("content", message.text);  // Fragments rejects parts here
    } else {
      JsonArrayWriter parts(fields.field("content"));
      if (!message.text.empty())
        JsonObjectWriter(parts.item()).string("text", message.text).string("type", "text").close();
      for (const auto& url : message.images)
        JsonObjectWriter(parts.item()).string("image", url).string("type", "image").close();
      parts.close();
    }
    fields.string("role", message.role);
    fields.close();
  }
  list.close();
}

std::variant<CallParameters, LocalResponse> map_parameters(const json& chat, std::int64_t envelope_tokens) {
  CallParameters parameters;
  struct Numeric {
    const char* openai;
    std::string_view fragments;
  };
  // Sorted by their Fragments names, as CallParameters::numbers promises.
  static const Numeric numeric[] = {{"frequency_penalty", "frequencyPenalty"},
                                    {"presence_penalty", "presencePenalty"},
                                    {"seed", "seed"},
                                    {"temperature", "temperature"},
                                    {"top_k", "topK"},
                                    {"top_p", "topP"}};
  for (const auto& [openai, fragments] : numeric) {
    if (!chat.contains(openai) || chat[openai].is_null()) continue;
    if (!chat[openai].is_number())
      return bad_param(openai, std::string("'") + openai + "' must be a number", "invalid_type");
    parameters.numbers.emplace_back(fragments, chat[openai]);
  }
  if (const auto budget = gateway::requested_max_tokens(chat)) {
    // The model spends tokens on the envelope around the answer before it writes the answer;
    // the gateway itself cuts the answer at the client's budget.
    const auto room = std::numeric_limits<std::int64_t>::max() - envelope_tokens;
    parameters.max_tokens =
        *budget > room ? std::numeric_limits<std::int64_t>::max() : *budget + envelope_tokens;
  }
  return parameters;
}

std::optional<LocalResponse> reject_unsupported(const json& chat) {
  if (chat.contains("n") && !chat["n"].is_null() &&
      !(chat["n"].is_number_integer() && chat["n"].get<long long>() == 1)) {
    return unsupported("n", "Only one choice (n=1) is supported by this gateway");
  }
  for (const char* key : {"tools", "functions"}) {
    if (chat.contains(key) && !chat[key].is_null() && !(chat[key].is_array() && chat[key].empty())) {
      return unsupported(key,
                         std::string("'") + key + "' (function calling) is not supported by this gateway");
    }
  }
  for (const char* key : {"tool_choice", "function_call"}) {
    if (chat.contains(key) && !chat[key].is_null() && chat[key] != "none" && chat[key] != "auto") {
      return unsupported(key, std::string("'") + key + "' is not supported by this gateway");
    }
  }
  if (chat.contains("logprobs") && chat["logprobs"].is_boolean() && chat["logprobs"].get<bool>()) {
    return unsupported("logprobs", "'logprobs' is not supported by this gateway");
  }
  if (chat.contains("top_logprobs") && !chat["top_logprobs"].is_null()) {
    return unsupported("top_logprobs", "'top_logprobs' is not supported by this gateway");
  }
  if (chat.contains("audio") && !chat["audio"].is_null()) {
    return unsupported("audio", "Audio output is not supported by this gateway");
  }
  if (chat.contains("modalities") && chat["modalities"].is_array()) {
    for (const auto& m : chat["modalities"]) {
      if (m != "text")
        return unsupported("modalities", "Only the text modality is supported by this gateway");
    }
  }
  if (chat.contains("response_format") && chat["response_format"].is_object()) {
    const auto type = chat["response_format"].value("type", "text");
    if (type != "text")
      return unsupported("response_format", "Only response_format type 'text' is supported by this gateway");
  }
  return std::nullopt;
}

std::string stable_user_id(const std::string& seed) {
  auto digest = gateway::sha256("e2b-gateway-user:" + seed);
  digest[6] = (digest[6] & 0x0f) | 0x50;  // UUID version 5
  digest[8] = (digest[8] & 0x3f) | 0x80;  // RFC 4122 variant
  std::string out = gateway::to_hex(std::span<const unsigned char>(digest.data(), 16));
  for (const std::size_t dash : {8, 13, 18, 23}) out.insert(dash, 1, '-');
  return out;
}

namespace {

/// Appends the fields of `config` after its apiKey: the call parameters and the model, in the
/// order of their names (the order nlohmann::json, a std::map, has always sent them in).
void append_config_fields(JsonObjectWriter& config, const CallParameters& parameters,
                          const std::string& model_id) {
  struct Field {
    std::string_view name;
    std::string value;  ///< as JSON text
  };
  std::vector<Field> fields;
  fields.reserve(parameters.numbers.size() + 2);
  // A client's number is written by nlohmann itself: its digits for a double are not always
  // the ones std::to_chars gives.
  for (const auto& [name, value] : parameters.numbers) fields.push_back({name, value.dump()});
  if (parameters.max_tokens) fields.push_back({"maxTokens", std::to_string(*parameters.max_tokens)});
  std::string model;
  gateway::append_json_string(model, model_id);
  fields.push_back({"model", std::move(model)});
  std::sort(fields.begin(), fields.end(), [](const Field& a, const Field& b) { return a.name < b.name; });
  for (const auto& field : fields) config.field(field.name) += field.value;
}

void append_model(std::string& out, const gateway::ModelInfo& model) {
  JsonObjectWriter(out)
      .string("id", model.upstream_id)
      .boolean("multiModal", model.multimodal)
      .string("name", model.name)
      .string("provider", model.provider)
      .string("providerId", model.provider_id)
      .close();
}

void append_template(std::string& out, const RequestSettings& settings, const std::string& instructions) {
  JsonObjectWriter by_id(out);
  JsonObjectWriter chat(by_id.field(settings.template_id));
  chat.string("file", settings.template_file).string("instructions", instructions);
  chat.field("lib") += R"([""])";
  chat.string("name", "Chat").null("port").close();
  by_id.close();
}

/// Room for the body: its text, plus the fixed fields around it.
std::size_t expected_size(const std::vector<FragmentsMessage>& messages, const std::string& instructions) {
  std::size_t size = 512 + instructions.size();
  for (const auto& message : messages) {
    size += 64 + message.text.size();
    for (const auto& url : message.images) size += 32 + url.size();
  }
  return size;
}

}  // namespace

std::variant<FragmentsBody, LocalResponse> build_fragments_request(const json& chat,
                                                                   const gateway::ModelInfo& model,
                                                                   const RequestSettings& settings,
                                                                   const std::string& user_id) {
  if (auto error = reject_unsupported(chat)) return *error;
  auto messages = map_messages(chat["messages"], model.multimodal);
  if (auto* error = std::get_if<LocalResponse>(&messages)) return *error;
  auto mapped = map_parameters(chat, settings.envelope_tokens);
  if (auto* error = std::get_if<LocalResponse>(&mapped)) return *error;
  const auto& parameters = std::get<CallParameters>(mapped);
  const auto& fragments_messages = std::get<std::vector<FragmentsMessage>>(messages);

  std::string instructions = settings.chat_instructions;
  if (!model.instructions.empty()) {
    if (!instructions.empty()) instructions += "\n";
    instructions += model.instructions;
  }
  FragmentsBody body;
  body.max_tokens = parameters.max_tokens;
  std::string& out = body.text;
  out.reserve(expected_size(fragments_messages, instructions));
  // The fields in the order of their names, as nlohmann::json (a std::map) has always sent them.
  JsonObjectWriter fields(out);
  JsonObjectWriter config(fields.field("config"));
  body.key_at = out.size();
  append_config_fields(config, parameters, model.upstream_id);
  config.close();
  append_messages(fields.field("messages"), fragments_messages);
  append_model(fields.field("model"), model);
  append_template(fields.field("template"), settings, instructions);
  fields.string("userID", user_id).close();
  return body;
}

std::string FragmentsBody::with_provider_key(const json& keys, const std::string& provider_id) const {
  const auto found = keys.find(provider_id);  // end() when keys is not an object
  if (found == keys.end() || !found->is_string() || found->get_ref<const std::string&>().empty()) return text;
  // "apiKey" sorts before every other config field, and config always has its model after it.
  std::string out;
  out.reserve(text.size() + found->get_ref<const std::string&>().size() + 16);
  out.append(text, 0, key_at);
  out += R"("apiKey":)";
  gateway::append_json_string(out, found->get_ref<const std::string&>());
  out += ',';
  out.append(text, key_at);
  return out;
}

}  // namespace e2b::fragments
