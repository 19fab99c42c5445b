// The model catalog: public model ids and what the upstream needs to know about each.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace gateway {

/// One entry of the catalog.
struct ModelInfo {
  std::string id;           ///< public id clients send as `model`
  std::string upstream_id;  ///< id the upstream expects
  std::string provider;     ///< display name, e.g. "OpenAI"
  std::string provider_id;  ///< e.g. "openai"
  std::string name;         ///< human name
  bool multimodal = false;
  std::string instructions;  ///< per-model instructions for the upstream prompt
  std::string alias_of;      ///< for an alias: the id of the model it stands for
  nlohmann::json extra;      ///< any further keys from config.yaml, for plugins
};

/// Public id → entry, in configured order.
class ModelCatalog {
 public:
  void add(ModelInfo info) {
    index_[info.id] = entries_.size();
    entries_.push_back(std::move(info));
  }
  const ModelInfo* find(const std::string& id) const {
    auto it = index_.find(id);
    return it == index_.end() ? nullptr : &entries_[it->second];
  }
  const std::vector<ModelInfo>& all() const { return entries_; }

 private:
  std::vector<ModelInfo> entries_;
  std::map<std::string, std::size_t> index_;
};

}  // namespace gateway
