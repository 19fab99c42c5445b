// The OpenAI response objects as the gateway built them before the JSON writer (json trees,
// dumped): the reference the writer must match byte for byte, and the benchmark's "before".
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "gateway/plugin.h"

namespace gateway::openai::tree_reference {

/// One stream chunk as an SSE event ("usage": null added when the client asked for usage).
std::string chunk_event(const std::string& id, std::int64_t created, const std::string& model,
                        nlohmann::json delta, const char* finish_reason, bool include_usage);

/// The usage chunk as an SSE event.
std::string usage_event(const std::string& id, std::int64_t created, const std::string& model,
                        const Usage& usage);

/// The non-streamed `chat.completion` body.
std::string completion_body(const std::string& id, std::int64_t created, const std::string& model,
                            const std::string& content, const std::string& reasoning, FinishReason reason,
                            const Usage& usage);

}  // namespace gateway::openai::tree_reference
