// Chat-request parameters that the gateway and plugins read the same way. The gateway refuses
// invalid values with a 400 before any plugin sees the request.
#pragma once

#include <cstdint>
#include <optional>

#include <nlohmann/json.hpp>

namespace gateway {

/// The chat-request fields that set the answer's token budget, the one that wins first.
inline constexpr const char* kMaxTokensFields[] = {"max_completion_tokens", "max_tokens"};

/// The answer's token budget a chat request asks for: `max_completion_tokens`, else the older
/// `max_tokens`; nullopt when neither is a positive integer. The gateway cuts the answer there.
inline std::optional<std::int64_t> requested_max_tokens(const nlohmann::json& chat) {
  for (const char* field : kMaxTokensFields) {
    const auto found = chat.find(field);
    if (found == chat.end() || found->is_null()) continue;
    if (found->is_number_integer() && found->get<std::int64_t>() > 0) return found->get<std::int64_t>();
    return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace gateway
