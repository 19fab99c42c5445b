// Fuzzes OpenAI chat request handling: any bytes as a POST /v1/chat/completions body go through
// the core's validation; a body it accepts then goes through everything that reads it (stop
// sequences, token estimates, max_tokens) and the Fragments request builder. Only an OpenAI error
// response may come out of a bad body: an exception escaping any of these is a finding.
#include <string>
#include <variant>

#include "fuzz_support.h"
#include "gateway/chat_params.h"
#include "openai/chat_format.h"
#include "request_builder.h"

namespace {

using gateway::ModelCatalog;
using gateway::ModelInfo;

/// A text model, a multimodal one and an alias, as config.yaml declares them.
ModelCatalog make_catalog() {
  ModelCatalog catalog;
  ModelInfo text;
  text.id = "gpt-4o";
  text.upstream_id = "gpt-4o-2024";
  text.provider_id = "openai";
  text.instructions = "Answer briefly.";
  catalog.add(text);
  ModelInfo vision = text;
  vision.id = "vision";
  vision.multimodal = true;
  catalog.add(vision);
  ModelInfo alias = text;
  alias.id = "4o";
  alias.alias_of = "gpt-4o";
  catalog.add(alias);
  return catalog;
}

/// A refusal of a client body is a 4xx, never a server error.
void check_refusal(const gateway::LocalResponse& refusal) {
  FUZZ_CHECK(refusal.status >= 400 && refusal.status < 500);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const ModelCatalog catalog = make_catalog();
  const std::string body(reinterpret_cast<const char*>(data), size);
  nlohmann::json parsed;
  const auto verdict = gateway::openai::validate_chat_request(body, parsed, catalog);
  if (const auto* refusal = std::get_if<gateway::LocalResponse>(&verdict)) {
    check_refusal(*refusal);
    return 0;
  }
  const auto& info = std::get<gateway::openai::ChatRequestInfo>(verdict);
  FUZZ_CHECK(info.model != nullptr);
  FUZZ_CHECK(!info.include_usage || info.stream);

  (void)gateway::openai::stop_sequences(parsed);
  FUZZ_CHECK(gateway::openai::estimate_prompt_tokens(parsed.at("messages")) >= 0);
  if (const auto max_tokens = gateway::requested_max_tokens(parsed)) FUZZ_CHECK(*max_tokens >= 0);

  e2b::fragments::RequestSettings settings;
  settings.chat_instructions = "Reply in plain text.";
  const auto built = e2b::fragments::build_fragments_request(parsed, *info.model, settings,
                                                             e2b::fragments::stable_user_id("key_1"));
  if (const auto* refusal = std::get_if<gateway::LocalResponse>(&built)) {
    check_refusal(*refusal);
  } else {
    // The upstream body is sent as text: it must always parse.
    const auto sent = std::get<e2b::fragments::FragmentsBody>(built).with_provider_key(
        nlohmann::json{{info.model->provider_id, "sk-\xff"}}, info.model->provider_id);
    FUZZ_CHECK(!nlohmann::json::parse(sent, nullptr, false).is_discarded());
  }
  return 0;
}
