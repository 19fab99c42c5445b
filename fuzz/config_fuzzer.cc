// Fuzzes the configuration loader on any YAML text, as load_config reads config.yaml: an invalid
// configuration must be refused with a ConfigError naming the field; any other exception
// escaping (or a crash) is a finding.
#include <string>

#include "config/config.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const auto config = gateway::parse_config(gateway::yaml_to_json(text), "/nonexistent/plugins");
    FUZZ_CHECK(!config.plugin_dir.empty());
  } catch (const gateway::ConfigError&) {
  }
  return 0;
}
