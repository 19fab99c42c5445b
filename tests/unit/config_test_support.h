// What the config tests share: scoped environment variables and working directory, a temporary
// directory, and a fixture that parses YAML with the gateway's override variables unset.
#pragma once

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>

#include "config/config.h"

namespace gateway::config_testing {

/// Sets or unsets environment variables for one test and restores them afterwards.
class ScopedEnv {
 public:
  ScopedEnv() = default;
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
  ~ScopedEnv() {
    for (const auto& [name, old] : saved_) {
      if (old)
        ::setenv(name.c_str(), old->c_str(), 1);
      else
        ::unsetenv(name.c_str());
    }
  }
  void set(const std::string& name, const std::string& value) {
    remember(name);
    ::setenv(name.c_str(), value.c_str(), 1);
  }
  void unset(const std::string& name) {
    remember(name);
    ::unsetenv(name.c_str());
  }
  /// Restores `name` afterwards without changing it now.
  void remember(const std::string& name) {
    if (saved_.count(name)) return;
    const char* old = std::getenv(name.c_str());
    saved_[name] = old ? std::optional<std::string>(old) : std::nullopt;
  }

 private:
  std::map<std::string, std::optional<std::string>> saved_;
};

inline std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  return value ? std::optional<std::string>(value) : std::nullopt;
}

/// A fresh temporary directory, removed afterwards.
class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("gateway-config-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::create_directories(path_);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::filesystem::path write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name, std::ios::binary) << text;
    return path_ / name;
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

/// Runs the rest of the scope in another working directory.
class ScopedCwd {
 public:
  explicit ScopedCwd(const std::filesystem::path& dir) : old_(std::filesystem::current_path()) {
    std::filesystem::current_path(dir);
  }
  ScopedCwd(const ScopedCwd&) = delete;
  ScopedCwd& operator=(const ScopedCwd&) = delete;
  ~ScopedCwd() { std::filesystem::current_path(old_); }

 private:
  std::filesystem::path old_;
};

/// Every test starts without the gateway's override variables.
class ConfigTest : public testing::Test {
 protected:
  void SetUp() override {
    for (const char* name :
         {"E2B_PORT", "E2B_HOST", "E2B_BASE_URL", "E2B_LOG_LEVEL", "E2B_LOG_FORMAT", "E2B_LOG_ACCESS"}) {
      env_.unset(name);
    }
  }

  GatewayConfig parse(const std::string& yaml, const std::filesystem::path& plugin_dir = "/opt/gw/plugins") {
    return parse_config(yaml_to_json(yaml), plugin_dir);
  }

  /// The dotted field of the ConfigError that parsing `yaml` raises ("" when nothing is thrown).
  std::string error_field(const std::string& yaml) {
    try {
      parse(yaml);
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(e.field()), std::string::npos) << e.what();
      return e.field();
    }
    ADD_FAILURE() << "no ConfigError for:\n" << yaml;
    return "";
  }

  ScopedEnv env_;
};

}  // namespace gateway::config_testing
