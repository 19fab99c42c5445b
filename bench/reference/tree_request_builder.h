// The Fragments request body as the gateway built it before the JSON writer (a json tree, dumped):
// the reference the writer must match byte for byte, and the benchmark's "before".
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "gateway/models.h"
#include "request_builder.h"

namespace e2b::fragments::tree_reference {

/// The body as it was sent with `provider_api_keys`, or nullopt where the request was refused.
std::optional<std::string> dumped_body(const nlohmann::json& chat, const gateway::ModelInfo& model,
                                       const RequestSettings& settings, const std::string& user_id,
                                       const nlohmann::json& provider_api_keys);

}  // namespace e2b::fragments::tree_reference
