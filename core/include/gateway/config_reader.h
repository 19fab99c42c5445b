// Typed, strict reading of a plugin's configuration object, so a typo in config.yaml fails at
// start-up with the plugin's name and the field rather than at request time.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/plugin.h"

namespace gateway {

/// Reads fields of one configuration object and rejects keys nobody asked for.
class ConfigReader {
 public:
  explicit ConfigReader(const nlohmann::json& config, std::string prefix = "")
      : config_(config.is_null() ? nlohmann::json::object() : config), prefix_(std::move(prefix)) {
    if (!config_.is_object())
      throw PluginConfigError(prefix_.empty() ? "config" : prefix_, "must be a mapping");
  }

  template <typename T>
  T get(const std::string& key, T fallback) {
    known_.insert(key);
    if (!config_.contains(key) || config_[key].is_null()) return fallback;
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      // Converting a number T cannot hold is undefined behaviour, so refuse it first.
      if (config_[key].is_number() && !fits<T>(config_[key]))
        throw PluginConfigError(path(key), "is out of range");
    }
    try {
      return config_[key].get<T>();
    } catch (const nlohmann::json::exception&) {
      throw PluginConfigError(path(key), "has the wrong type");
    }
  }

  template <typename T>
  T require(const std::string& key) {
    known_.insert(key);
    if (!config_.contains(key) || config_[key].is_null()) throw PluginConfigError(path(key), "is required");
    return get<T>(key, T{});
  }

  /// A positive number of milliseconds (`fallback` when absent); zero or less is refused.
  std::chrono::milliseconds positive_millis(const std::string& key, std::chrono::milliseconds fallback) {
    const auto value = get<long long>(key, fallback.count());
    if (value <= 0) throw PluginConfigError(path(key), "must be a positive number of milliseconds");
    return std::chrono::milliseconds(value);
  }

  /// A mapping of limit names (RateLimits::kFields) to non-negative integers, 0 = no limit;
  /// absent or null = no limits set.
  RateLimits rate_limits(const std::string& key) {
    const auto limits = get<nlohmann::json>(key, nullptr);
    if (limits.is_null()) return {};
    if (!limits.is_object())
      throw PluginConfigError(path(key), "must be a mapping of limit names to integers");
    for (const auto& [name, value] : limits.items()) {
      if (!RateLimits::known(name)) throw PluginConfigError(path(key) + "." + name, "is not a limit");
      if (!value.is_number_integer() || value.get<std::int64_t>() < 0)
        throw PluginConfigError(path(key) + "." + name, "must be a non-negative integer (0 = no limit)");
    }
    return RateLimits::from_json(limits);
  }

  /// Fails on any key that no get()/require() asked for.
  void reject_unknown() const {
    for (const auto& [key, value] : config_.items()) {
      if (!known_.count(key)) throw PluginConfigError(path(key), "is not a known setting");
    }
  }

  std::string path(const std::string& key) const { return prefix_.empty() ? key : prefix_ + "." + key; }

 private:
  /// Whether a JSON number converts to the integer type T without overflowing (a fraction is
  /// truncated as before).
  template <typename T>
  static bool fits(const nlohmann::json& number) {
    if (number.is_number_unsigned()) return std::in_range<T>(number.get<std::uint64_t>());
    if (number.is_number_integer()) return std::in_range<T>(number.get<std::int64_t>());
    const double value = number.get<double>();
    // Exclusive bounds; for 64-bit types they round to -2^63 and 2^63 (2^64 unsigned), which
    // refuses only -2^63 itself needlessly.
    const double below = static_cast<double>(std::numeric_limits<T>::min()) - 1.0;
    const double above = static_cast<double>(std::numeric_limits<T>::max()) + 1.0;
    return std::isfinite(value) && value > below && value < above;
  }

  nlohmann::json config_;
  std::string prefix_;
  std::set<std::string> known_;
};

}  // namespace gateway
