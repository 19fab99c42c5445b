// A plugin that claims the next plugin ABI version, as one built against a newer gateway would.
// The loader must refuse it before calling anything in it. Built for the integration tests only;
// it is never installed beside the shipped plugins.
#include "gateway/plugin.h"

namespace {

class UnusedPlugin : public gateway::Plugin {};

std::unique_ptr<gateway::Plugin> make_plugin(const gateway::PluginHost&, const nlohmann::json&) {
  return std::make_unique<UnusedPlugin>();
}

}  // namespace

extern "C" __attribute__((visibility("default"))) const gateway::PluginDescriptor*
gateway_plugin_descriptor() {
  static const gateway::PluginDescriptor descriptor{gateway::kPluginAbiVersion + 1, "wrong_abi",
                                                    &make_plugin};
  return &descriptor;
}
