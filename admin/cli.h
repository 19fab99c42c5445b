// The command-line storage commands: `migrate`, `tenants create|list` and
// `keys create|list|revoke`, run against the database the configuration names.
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "config/config.h"
#include "storage/storage.h"

namespace gateway::admin {

class StorageCommands {
 public:
  /// Adds the commands to `cli`; they read their configuration from `config_path` once parsed.
  StorageCommands(CLI::App& cli, std::string& config_path);
  /// Runs the command that was parsed, if any, and returns its exit status; plugins are looked
  /// for in `plugin_dir` while the configuration is loaded.
  std::optional<int> run(const std::filesystem::path& plugin_dir);

 private:
  std::string& config_path_;
  CLI::App* migrate_ = nullptr;
  CLI::App* tenants_create_ = nullptr;
  CLI::App* tenants_list_ = nullptr;
  CLI::App* keys_create_ = nullptr;
  CLI::App* keys_list_ = nullptr;
  CLI::App* keys_revoke_ = nullptr;
  std::string tenant_name_;
  NewKey new_key_;
  std::string models_csv_;
  std::string expires_;
  std::string key_id_;
};

/// Parses "30d", "12h", "90m" or a number of seconds into seconds.
std::int64_t parse_duration(const std::string& text);

}  // namespace gateway::admin
