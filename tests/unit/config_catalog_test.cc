// Unit tests of the model catalog and the plugin list read from config.yaml.
#include "config/config.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config_test_support.h"

namespace gateway {
namespace {

using namespace config_testing;
using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Models

constexpr const char* kModels = R"(
providers:
  openai:
    name: OpenAI
    instructions: Provider text.
models:
  - id: gpt-4o
    provider_id: openai
    multimodal: true
    aliases: [gpt-4o-latest, 4o]
  - id: llama3
    provider_id: ollama
    upstream_id: "llama3:8b"
    name: Llama 3
    instructions: Model text.
    extra:
      context: 8192
  - id: o3
    provider_id: openai
    provider: OpenAI Reasoning
)";

TEST_F(ConfigTest, ModelsInheritProviderDefaults) {
  const GatewayConfig c = parse(kModels);
  const ModelInfo* m = c.models.find("gpt-4o");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->upstream_id, "gpt-4o");
  EXPECT_EQ(m->provider_id, "openai");
  EXPECT_EQ(m->provider, "OpenAI");
  EXPECT_EQ(m->name, "gpt-4o");
  EXPECT_TRUE(m->multimodal);
  EXPECT_EQ(m->instructions, "Provider text.");
  EXPECT_TRUE(m->alias_of.empty());
}

TEST_F(ConfigTest, ModelWithUnknownProviderUsesItsOwnValues) {
  const GatewayConfig c = parse(kModels);
  const ModelInfo* m = c.models.find("llama3");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->upstream_id, "llama3:8b");
  EXPECT_EQ(m->provider, "ollama");  // provider display name defaults to the provider id
  EXPECT_EQ(m->name, "Llama 3");
  EXPECT_FALSE(m->multimodal);
  EXPECT_EQ(m->instructions, "Model text.");
  EXPECT_EQ(m->extra, (json{{"context", 8192}}));
}

TEST_F(ConfigTest, AModelMayNameItsOwnProviderDisplayName) {
  const GatewayConfig c = parse(kModels);
  const ModelInfo* m = c.models.find("o3");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->provider, "OpenAI Reasoning");
}

// Parameter caps are rules of the constraints plugin now; caps left in the catalog would be
// enforced nowhere, so they are refused, naming the field and where the caps belong.
TEST_F(ConfigTest, CatalogParameterCapsAreRefusedPointingToConstraints) {
  for (const auto& [yaml, field] : std::vector<std::pair<std::string, std::string>>{
           {"providers:\n  openai:\n    limits: {temperature: 2}\n", "providers.openai.limits"},
           {"providers:\n  openai: {name: OpenAI, limits: {}}\n", "providers.openai.limits"},
           {"models:\n  - id: m\n    provider_id: openai\n    limits: {top_p: 1}\n", "models[0].limits"},
           {"models:\n  - {id: a, provider_id: openai}\n  - {id: b, provider_id: openai, limits: null}\n",
            "models[1].limits"}}) {
    SCOPED_TRACE(yaml);
    try {
      parse(yaml);
      ADD_FAILURE() << "accepted";
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.field(), field);
      EXPECT_NE(std::string(e.what()).find("constraints"), std::string::npos) << e.what();
    }
  }
}

TEST_F(ConfigTest, AliasesCopyTheirTarget) {
  const GatewayConfig c = parse(kModels);
  for (const char* alias : {"gpt-4o-latest", "4o"}) {
    SCOPED_TRACE(alias);
    const ModelInfo* m = c.models.find(alias);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->id, alias);
    EXPECT_EQ(m->alias_of, "gpt-4o");
    EXPECT_EQ(m->upstream_id, "gpt-4o");
    EXPECT_EQ(m->provider_id, "openai");
    EXPECT_TRUE(m->multimodal);
  }
}

TEST_F(ConfigTest, CatalogKeepsConfiguredOrderWithAliasesLast) {
  const GatewayConfig c = parse(kModels);
  std::vector<std::string> ids;
  for (const auto& m : c.models.all()) ids.push_back(m.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"gpt-4o", "llama3", "o3", "gpt-4o-latest", "4o"}));
}

// ---------------------------------------------------------------------------------------------
// Plugins

TEST_F(ConfigTest, PluginPathDefaultsToPluginDir) {
  const GatewayConfig c = parse(R"(
plugins:
  - name: auth
    config:
      keys_file: /etc/keys
  - name: custom
    path: /usr/lib/custom.so
)");
  ASSERT_EQ(c.plugins.size(), 2u);
  EXPECT_EQ(c.plugins[0].name, "auth");
  EXPECT_EQ(c.plugins[0].path, std::filesystem::path("/opt/gw/plugins/auth.so"));
  EXPECT_EQ(c.plugins[0].config, (json{{"keys_file", "/etc/keys"}}));
  EXPECT_EQ(c.plugins[1].path, std::filesystem::path("/usr/lib/custom.so"));
  EXPECT_EQ(c.plugins[1].config, json::object());
}

TEST_F(ConfigTest, PluginDirFromFileIsUsed) {
  const GatewayConfig c = parse("plugin_dir: /srv/plugins\nplugins:\n  - name: cors\n");
  EXPECT_EQ(c.plugin_dir, std::filesystem::path("/srv/plugins"));
  ASSERT_EQ(c.plugins.size(), 1u);
  EXPECT_EQ(c.plugins[0].path, std::filesystem::path("/srv/plugins/cors.so"));
}

}  // namespace
}  // namespace gateway
