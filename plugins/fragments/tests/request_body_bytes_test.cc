// The Fragments request body written by the JSON writer is byte for byte the body the gateway
// sent when it built a json tree and dumped it (bench/reference/tree_request_builder.cc).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <variant>

#include "reference/awkward_text.h"
#include "reference/tree_request_builder.h"
#include "request_builder.h"

namespace e2b::fragments {
namespace {

using gateway::LocalResponse;
using gateway::testing_text::awkward_text;
using nlohmann::json;

/// What the writer sends to a target with `keys`, or nullopt where it refuses the request.
std::optional<std::string> written_body(const json& chat, const gateway::ModelInfo& model,
                                        const RequestSettings& settings, const std::string& user_id,
                                        const json& keys) {
  const auto built = build_fragments_request(chat, model, settings, user_id);
  if (std::holds_alternative<LocalResponse>(built)) return std::nullopt;
  return std::get<FragmentsBody>(built).with_provider_key(keys, model.provider_id);
}

/// Numbers of each kind nlohmann writes in its own way: integers, unsigned integers, short
/// decimals, and doubles whose shortest digits need an exponent or 17 digits.
const double kAwkwardDoubles[] = {0.0,
                                  -0.0,
                                  0.7,
                                  1.0,
                                  0.1 + 0.2,
                                  1e15,
                                  1e16,
                                  1e-4,
                                  1e-5,
                                  1.5e300,
                                  5e-324,
                                  1e21,
                                  -2.5,
                                  123456789.125,
                                  1e100,
                                  0.3,
                                  2.0 / 3,
                                  100.0,
                                  1.7976931348623157e308};

json random_number(std::mt19937& random) {
  switch (random() % 6) {
    case 0:
      return std::uniform_int_distribution<std::int64_t>(-1000, 1000)(random);
    case 1:
      return static_cast<double>(random() % 2001) / 1000.0;  // as clients write them: 0.7
    case 2: {
      const std::uint64_t bits = (std::uint64_t{random()} << 32) | random();
      double value = 0;
      std::memcpy(&value, &bits, sizeof value);
      return std::isfinite(value) ? value : 0.5;
    }
    case 3:
      return std::numeric_limits<std::uint64_t>::max() - random() % 10;
    case 4:
      return std::uniform_real_distribution<double>(-2, 2)(random);
    default:
      return kAwkwardDoubles[random() % std::size(kAwkwardDoubles)];
  }
}

json random_part(std::mt19937& random) {
  if (random() % 3 != 0) return {{"type", "text"}, {"text", awkward_text(random)}};
  const std::string url = "data:" + awkward_text(random, 4);
  if (random() % 2 == 0) return {{"type", "image_url"}, {"image_url", url}};
  return {{"type", "image_url"}, {"image_url", {{"url", url}, {"detail", "low"}}}};
}

json random_message(std::mt19937& random) {
  static const char* const kRoles[] = {"system",    "developer", "user",    "user",
                                       "assistant", "tool",      "function"};
  json message{{"role", kRoles[random() % std::size(kRoles)]}};
  switch (random() % 4) {
    case 0:
      message["content"] = awkward_text(random);
      break;
    case 1:
      message["content"] = nullptr;
      break;
    case 2:
      break;  // no content at all
    default: {
      json parts = json::array();
      for (int i = static_cast<int>(random() % 4); i >= 0; --i) parts.push_back(random_part(random));
      message["content"] = std::move(parts);
    }
  }
  return message;
}

json random_chat(std::mt19937& random) {
  json messages = json::array();
  for (int i = static_cast<int>(random() % 8); i >= 0; --i) messages.push_back(random_message(random));
  json chat{{"model", "m"}, {"messages", std::move(messages)}};
  for (const char* name :
       {"temperature", "top_p", "top_k", "presence_penalty", "frequency_penalty", "seed"}) {
    if (random() % 2 == 0) chat[name] = random() % 8 == 0 ? json(nullptr) : random_number(random);
  }
  if (random() % 3 == 0) chat["max_tokens"] = 1 + random() % 100000;
  if (random() % 5 == 0)
    chat["max_completion_tokens"] = std::numeric_limits<std::int64_t>::max() - random() % 300;
  if (random() % 4 == 0) chat["stop"] = awkward_text(random, 3);
  return chat;
}

json random_keys(std::mt19937& random, const std::string& provider_id) {
  switch (random() % 6) {
    case 0:
      return json::object();
    case 1:
      return {{provider_id, ""}};
    case 2:
      return {{provider_id, 12}};
    case 3:
      return {{"another-" + provider_id, "sk-other"}};
    case 4:
      return json::array({"sk-not-a-map"});
    default:
      return {{provider_id, "sk-" + awkward_text(random, 4)}, {"zz", "sk-z"}};
  }
}

gateway::ModelInfo random_model(std::mt19937& random) {
  gateway::ModelInfo model;
  model.id = "m";
  model.upstream_id = awkward_text(random, 3);
  model.provider = awkward_text(random, 3);
  model.provider_id = awkward_text(random, 2);
  model.name = awkward_text(random, 3);
  model.multimodal = random() % 2 == 0;
  model.instructions = random() % 2 == 0 ? std::string() : awkward_text(random);
  return model;
}

TEST(FragmentsBodyBytes, RandomRequestsGiveTheBytesTheTreeGave) {
  std::mt19937 random(20261201);  // fixed seed: the same requests every run
  constexpr int kRequests = 3000;
  int written = 0;
  for (int i = 0; i < kRequests; ++i) {
    const json chat = random_chat(random);
    const auto model = random_model(random);
    RequestSettings settings;
    settings.template_id = "t" + awkward_text(random, 2);
    settings.template_file = awkward_text(random, 3);
    settings.chat_instructions = awkward_text(random);
    settings.envelope_tokens = random() % 512;
    const std::string user_id = stable_user_id(std::to_string(i));
    const json keys = random_keys(random, model.provider_id);

    const auto expected = tree_reference::dumped_body(chat, model, settings, user_id, keys);
    const auto actual = written_body(chat, model, settings, user_id, keys);
    ASSERT_EQ(actual.has_value(), expected.has_value())
        << "request " << i << ": " << chat.dump(-1, ' ', false, json::error_handler_t::replace);
    if (!expected) continue;
    ASSERT_EQ(*actual, *expected) << "request " << i;
    ++written;
  }
  EXPECT_GT(written, kRequests / 2) << "too few requests were accepted to compare their bodies";
}

TEST(FragmentsBodyBytes, EachNumberIsWrittenAsTheTreeWroteIt) {
  gateway::ModelInfo model;
  model.upstream_id = "gpt-4o";
  model.provider_id = "openai";
  const RequestSettings settings;
  const json chat_base{{"model", "m"}, {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}};
  for (const double value : kAwkwardDoubles) {
    json chat = chat_base;
    chat["temperature"] = value;
    chat["seed"] = static_cast<std::int64_t>(value) / 2;
    const auto expected = tree_reference::dumped_body(chat, model, settings, "u", json::object());
    ASSERT_TRUE(expected.has_value());
    EXPECT_EQ(written_body(chat, model, settings, "u", json::object()), expected) << value;
  }
}

TEST(FragmentsBodyBytes, ShortDecimalsStayShort) {
  gateway::ModelInfo model;
  model.upstream_id = "gpt-4o";
  json chat{{"model", "m"}, {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}};
  chat["temperature"] = 0.7;
  chat["top_p"] = 1.0;
  chat["frequency_penalty"] = 1e-5;
  const auto body = written_body(chat, model, RequestSettings{}, "u", json::object());
  ASSERT_TRUE(body.has_value());
  EXPECT_NE(
      body->find(R"("config":{"frequencyPenalty":1e-05,"model":"gpt-4o","temperature":0.7,"topP":1.0})"),
      std::string::npos)
      << *body;
}

}  // namespace
}  // namespace e2b::fragments
