// The Fragments request body as the gateway built it before the JSON writer: a json tree, dumped.
// Kept verbatim as the reference the writer must match byte for byte, and as the benchmark's
// "before".
#include "reference/tree_request_builder.h"

#include <limits>

#include "gateway/chat_params.h"

namespace e2b::fragments::tree_reference {
namespace {

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
  json images = json::array();
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
      out.images.push_back({{"type", "image"}, {"image", url}});
    } else if (type == "input_audio" || type == "file") {
      return unsupported(where, "Content parts of type '" + type + "' are not supported by this gateway");
    } else {
      return bad_param(where + ".type", "Unknown content part type '" + type + "'");
    }
  }
  return out;
}

/// One Fragments message being gathered from consecutive same-role messages.
struct MergedMessage {
  std::string role;
  std::string text;  ///< their text, joined by newlines
  json images;       ///< their image parts, in order
};

/// The Fragments form of a gathered message; its text and images are moved out.
json to_fragments_message(MergedMessage& message) {
  if (message.role == "system") {
    return {{"role", message.role}, {"content", std::move(message.text)}};  // Fragments rejects parts here
  }
  json parts = json::array();
  if (!message.text.empty()) parts.push_back({{"type", "text"}, {"text", std::move(message.text)}});
  for (auto& image : message.images) parts.push_back(std::move(image));
  return {{"role", message.role}, {"content", std::move(parts)}};
}

std::variant<json, LocalResponse> map_messages(const json& messages, bool multimodal) {
  // Consecutive same-role messages are gathered first and turned into JSON once, so merging
  // many of them costs time in proportion to their size.
  std::vector<MergedMessage> merged;
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

    if (merged.empty() || merged.back().role != role) merged.push_back({role, {}, json::array()});
    auto& message = merged.back();
    if (!content.text.empty()) {
      if (!message.text.empty()) message.text += '\n';
      message.text += content.text;
    }
    for (auto& image : content.images) message.images.push_back(std::move(image));
  }
  json out = json::array();
  for (auto& message : merged) out.push_back(to_fragments_message(message));
  return out;
}

std::variant<json, LocalResponse> map_parameters(const json& chat, std::int64_t envelope_tokens) {
  json config = json::object();
  struct Numeric {
    const char* openai;
    const char* fragments;
  };
  static const Numeric numeric[] = {{"temperature", "temperature"},
                                    {"top_p", "topP"},
                                    {"top_k", "topK"},
                                    {"presence_penalty", "presencePenalty"},
                                    {"frequency_penalty", "frequencyPenalty"},
                                    {"seed", "seed"}};
  for (const auto& [openai, fragments] : numeric) {
    if (!chat.contains(openai) || chat[openai].is_null()) continue;
    if (!chat[openai].is_number())
      return bad_param(openai, std::string("'") + openai + "' must be a number", "invalid_type");
    config[fragments] = chat[openai];
  }
  if (const auto budget = gateway::requested_max_tokens(chat)) {
    // The model spends tokens on the envelope around the answer before it writes the answer;
    // the gateway itself cuts the answer at the client's budget.
    const auto room = std::numeric_limits<std::int64_t>::max() - envelope_tokens;
    config["maxTokens"] =
        *budget > room ? std::numeric_limits<std::int64_t>::max() : *budget + envelope_tokens;
  }
  return config;
}

void set_provider_key(json& body, const json& keys, const std::string& provider_id) {
  auto& config = body["config"];
  config.erase("apiKey");
  if (!keys.is_object() || !keys.contains(provider_id)) return;
  const auto& key = keys[provider_id];
  if (key.is_string() && !key.get<std::string>().empty()) config["apiKey"] = key;
}

std::variant<json, LocalResponse> build_fragments_request(const json& chat, const gateway::ModelInfo& model,
                                                          const RequestSettings& settings,
                                                          const std::string& user_id,
                                                          const json& provider_api_keys) {
  if (auto error = reject_unsupported(chat)) return *error;
  auto messages = map_messages(chat["messages"], model.multimodal);
  if (auto* error = std::get_if<LocalResponse>(&messages)) return *error;
  auto parameters = map_parameters(chat, settings.envelope_tokens);
  if (auto* error = std::get_if<LocalResponse>(&parameters)) return *error;

  json config = std::get<json>(parameters);
  config["model"] = model.upstream_id;
  std::string instructions = settings.chat_instructions;
  if (!model.instructions.empty()) {
    if (!instructions.empty()) instructions += "\n";
    instructions += model.instructions;
  }
  json tmpl{{settings.template_id,
             {{"name", "Chat"},
              {"lib", json::array({""})},
              {"file", settings.template_file},
              {"instructions", instructions},
              {"port", nullptr}}}};
  json body{{"userID", user_id},
            {"messages", std::get<json>(messages)},
            {"template", tmpl},
            {"model",
             {{"id", model.upstream_id},
              {"provider", model.provider},
              {"providerId", model.provider_id},
              {"name", model.name},
              {"multiModal", model.multimodal}}},
            {"config", config}};
  set_provider_key(body, provider_api_keys, model.provider_id);
  return body;
}

}  // namespace

std::optional<std::string> dumped_body(const json& chat, const gateway::ModelInfo& model,
                                       const RequestSettings& settings, const std::string& user_id,
                                       const json& provider_api_keys) {
  auto built = build_fragments_request(chat, model, settings, user_id, provider_api_keys);
  if (std::holds_alternative<LocalResponse>(built)) return std::nullopt;
  return std::get<json>(built).dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace e2b::fragments::tree_reference
