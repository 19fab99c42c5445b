// What the hot path spends writing JSON (see bench/README.md): the Fragments request body and the
// OpenAI response objects, written by the JSON writer ("now") and built as json trees and dumped
// as the gateway did before ("tree", bench/reference/). In-process, no network; every loop is
// bounded.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "openai/chat_format.h"
#include "reference/tree_chat_format.h"
#include "reference/tree_request_builder.h"
#include "request_builder.h"

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

/// Median nanoseconds per call of `call` over `rounds` rounds of `calls` calls each. `call`
/// returns a size, summed into `sink` so that no call can be optimised away.
double ns_per_call(const std::function<std::size_t()>& call, int calls, int rounds, std::size_t& sink) {
  std::vector<double> per_call;
  for (int r = 0; r < rounds; ++r) {
    const auto start = Clock::now();
    for (int i = 0; i < calls; ++i) sink += call();
    per_call.push_back(std::chrono::duration<double, std::nano>(Clock::now() - start).count() / calls);
  }
  std::sort(per_call.begin(), per_call.end());
  return per_call[per_call.size() / 2];
}

/// The hot path benchmark's request (bench/hotpath.sh), with a temperature.
json small_chat() {
  return {{"model", "gpt-4o-mini"},
          {"messages", json::array({{{"role", "user"}, {"content", "Say hi"}}})},
          {"temperature", 0.7}};
}

/// A long conversation: a system prompt and `turns` user/assistant turns of about 1.5 KB each.
json large_chat(int turns) {
  json messages = json::array({{{"role", "system"}, {"content", std::string(2000, 's')}}});
  for (int i = 0; i < turns; ++i) {
    messages.push_back(
        {{"role", "user"}, {"content", "Question " + std::to_string(i) + std::string(1500, 'q')}});
    messages.push_back({{"role", "assistant"},
                        {"content", "Answer \"" + std::to_string(i) + "\"\n" + std::string(1500, 'a')}});
  }
  return {
      {"model", "gpt-4o-mini"}, {"messages", std::move(messages)}, {"temperature", 0.7}, {"max_tokens", 512}};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"JSON on the hot path: Fragments request bodies and OpenAI responses, writer vs tree"};
  int calls = 20000;
  int rounds = 7;
  int turns = 20;
  app.add_option("--calls", calls, "calls per round")->check(CLI::Range(100, 10'000'000));
  app.add_option("--rounds", rounds, "rounds; the median is reported")->check(CLI::Range(1, 100));
  app.add_option("--turns", turns, "user/assistant turns of the large request")->check(CLI::Range(1, 1000));
  CLI11_PARSE(app, argc, argv);

  gateway::ModelInfo model;
  model.id = "gpt-4o-mini";
  model.upstream_id = "gpt-4o-mini-2024-07-18";
  model.provider = "OpenAI";
  model.provider_id = "openai";
  model.name = "GPT-4o mini";
  model.instructions = "Use short sentences.";
  e2b::fragments::RequestSettings settings;
  settings.chat_instructions = "You are chatting with a user. Reply in plain text in the `code` field.";
  const json keys{{"openai", "sk-provider-key"}};
  const std::string user_id = e2b::fragments::stable_user_id("key_1");
  std::size_t sink = 0;

  const auto body_row = [&](const char* name, const json& chat, int row_calls) {
    const auto now = [&] {
      auto built = e2b::fragments::build_fragments_request(chat, model, settings, user_id);
      return std::get<e2b::fragments::FragmentsBody>(built).with_provider_key(keys, model.provider_id).size();
    };
    const auto tree = [&] {
      return e2b::fragments::tree_reference::dumped_body(chat, model, settings, user_id, keys)->size();
    };
    if (now() != tree()) std::printf("warning: %s: the two bodies differ in size\n", name);
    const double tree_ns = ns_per_call(tree, row_calls, rounds, sink);
    const double now_ns = ns_per_call(now, row_calls, rounds, sink);
    std::printf("%-34s %8zu bytes  tree %10.0f ns  writer %10.0f ns  (%.1fx)\n", name, now(), tree_ns, now_ns,
                tree_ns / now_ns);
  };
  const auto response_row = [&](const char* name, const std::function<std::size_t()>& tree,
                                const std::function<std::size_t()>& now) {
    const double tree_ns = ns_per_call(tree, calls, rounds, sink);
    const double now_ns = ns_per_call(now, calls, rounds, sink);
    std::printf("%-34s %8zu bytes  tree %10.0f ns  writer %10.0f ns  (%.1fx)\n", name, now(), tree_ns, now_ns,
                tree_ns / now_ns);
  };

  std::printf("median of %d rounds; %d calls per round (large request: %d)\n", rounds, calls,
              std::max(100, calls / 50));
  body_row("fragments body, small request", small_chat(), calls);
  body_row("fragments body, large request", large_chat(turns), std::max(100, calls / 50));

  namespace openai = gateway::openai;
  namespace tree = gateway::openai::tree_reference;
  const std::string id = "chatcmpl-0123456789abcdef01234567";
  const std::int64_t created = 1764600000;
  const openai::AnswerIdentity answer{id, created, model.id};
  const gateway::Usage usage{12, 34, true};
  const std::string short_answer = "Hi! How can I help you today?";
  const std::string long_answer(16 * 1024, 'x');
  const std::string delta = "Hello, wor";
  response_row(
      "completion, short answer",
      [&] {
        return tree::completion_body(id, created, model.id, short_answer, "", gateway::FinishReason::Stop,
                                     usage)
            .size();
      },
      [&] {
        return openai::completion(answer, short_answer, "", gateway::FinishReason::Stop, usage).size();
      });
  response_row(
      "completion, 16 KB answer",
      [&] {
        return tree::completion_body(id, created, model.id, long_answer, "", gateway::FinishReason::Stop,
                                     usage)
            .size();
      },
      [&] { return openai::completion(answer, long_answer, "", gateway::FinishReason::Stop, usage).size(); });
  response_row(
      "stream chunk event, 10-byte delta",
      [&] {
        return tree::chunk_event(id, created, model.id, {{"content", delta}}, nullptr, false).size();
      },
      [&] { return openai::sse_event(openai::chunk(answer, {.text = delta}, nullptr, false)).size(); });
  std::printf("(checksum %zu)\n", sink);
  return 0;
}
