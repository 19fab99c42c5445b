// Turns an OpenAI chat request into the body Fragments' POST /api/chat expects (pure logic).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/http_types.h"
#include "gateway/models.h"

namespace e2b::fragments {

/// Settings of the fragments plugin that shape the upstream request.
struct RequestSettings {
  std::string template_id = "text";
  std::string template_file = "pages/ChatWithUsers.txt";
  std::string chat_instructions;  ///< placed in template.<id>.instructions before the model's own
  /// Tokens allowed for the envelope around the answer on top of the client's max_tokens.
  std::int64_t envelope_tokens = 256;
};

/// The Fragments request body, written once as JSON text: only `config.apiKey` differs between
/// the upstream targets, each of which may have its own provider keys.
struct FragmentsBody {
  std::string text;        ///< the body without `config.apiKey`
  std::size_t key_at = 0;  ///< where `"apiKey":…,` belongs: config's first field, as keys sort
  /// `config.maxTokens`: the client's budget plus the envelope tokens, when it sent one.
  std::optional<std::int64_t> max_tokens;

  /// The body with `config.apiKey` = `keys[provider_id]` when that is a non-empty string, else
  /// without it.
  std::string with_provider_key(const nlohmann::json& keys, const std::string& provider_id) const;
};

/// The Fragments request body, or an OpenAI error response when the request cannot be honoured.
std::variant<FragmentsBody, gateway::LocalResponse> build_fragments_request(const nlohmann::json& chat,
                                                                            const gateway::ModelInfo& model,
                                                                            const RequestSettings& settings,
                                                                            const std::string& user_id);

/// The camelCase call settings Fragments reads, from OpenAI's parameters; only what the client sent.
struct CallParameters {
  /// Fragments' name of each numeric parameter with the client's value, as the names sort.
  std::vector<std::pair<std::string_view, nlohmann::json>> numbers;
  /// The client's budget plus `envelope_tokens`.
  std::optional<std::int64_t> max_tokens;
};

/// Fragments' call settings from OpenAI's parameters. `stop` is not sent (the gateway applies it
/// to the answer). An error response for a parameter of the wrong type.
std::variant<CallParameters, gateway::LocalResponse> map_parameters(const nlohmann::json& chat,
                                                                    std::int64_t envelope_tokens);

/// One Fragments message, gathered from consecutive same-role OpenAI messages.
struct FragmentsMessage {
  std::string role;                 ///< system, user or assistant
  std::string text;                 ///< their text, joined by newlines
  std::vector<std::string> images;  ///< their image URLs, in order (user messages only)
};

/// Fragments' message list: system/developer text as strings, user/assistant content as parts,
/// consecutive same-role messages merged, images as Fragments image parts (multimodal only).
std::variant<std::vector<FragmentsMessage>, gateway::LocalResponse> map_messages(
    const nlohmann::json& messages, bool multimodal);

/// Appends the messages as Fragments' JSON `messages` array.
void append_messages(std::string& out, const std::vector<FragmentsMessage>& messages);

/// 400 for parameters Fragments cannot honour (n>1, tools, logprobs, audio, …), else nullopt.
std::optional<gateway::LocalResponse> reject_unsupported(const nlohmann::json& chat);

/// A stable UUID-shaped id derived from `seed` (the caller's key id).
std::string stable_user_id(const std::string& seed);

}  // namespace e2b::fragments
