// Turns an OpenAI chat request into the body Fragments' POST /api/chat expects (pure logic).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include "gateway/http_types.h"
#include "gateway/models.h"

namespace e2b::fragments {

/// Settings of the fragments plugin that shape the upstream request.
struct RequestSettings {
  std::string template_id = "text";
  std::string template_file = "pages/ChatWithUsers.txt";
  std::string chat_instructions;  ///< placed in template.<id>.instructions before the model's own
  nlohmann::json provider_api_keys = nlohmann::json::object();  ///< providerId → config.apiKey
  /// Tokens allowed for the envelope around the answer on top of the client's max_tokens.
  std::int64_t envelope_tokens = 256;
};

/// The Fragments request body, or an OpenAI error response when the request cannot be honoured.
std::variant<nlohmann::json, gateway::LocalResponse> build_fragments_request(const nlohmann::json& chat,
                                                                             const gateway::ModelInfo& model,
                                                                             const RequestSettings& settings,
                                                                             const std::string& user_id);

/// Sets the Fragments body's `config.apiKey` to `keys[provider_id]` (a non-empty string), or
/// removes it when there is none: each upstream target may have its own provider keys.
void set_provider_key(nlohmann::json& body, const nlohmann::json& keys, const std::string& provider_id);

/// The camelCase call settings Fragments reads, from OpenAI's parameters; only what the client
/// sent. `maxTokens` is the client's budget plus `envelope_tokens`; `stop` is not sent (the
/// gateway applies it to the answer). An error response for a parameter of the wrong type.
std::variant<nlohmann::json, gateway::LocalResponse> map_parameters(const nlohmann::json& chat,
                                                                    std::int64_t envelope_tokens);

/// Fragments' message list: system/developer text as strings, user/assistant content as parts,
/// consecutive same-role messages merged, images as Fragments image parts (multimodal only).
std::variant<nlohmann::json, gateway::LocalResponse> map_messages(const nlohmann::json& messages,
                                                                  bool multimodal);

/// 400 for parameters Fragments cannot honour (n>1, tools, logprobs, audio, …), else nullopt.
std::optional<gateway::LocalResponse> reject_unsupported(const nlohmann::json& chat);

/// A stable UUID-shaped id derived from `seed` (the caller's key id).
std::string stable_user_id(const std::string& seed);

}  // namespace e2b::fragments
