// The limits a key or a tenant may carry (the admin API's `limits` object): their names and the
// typed form plugins read. Enforcing them is the rate-limit plugin's work.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

namespace gateway {

/// The limits of one key or tenant; nullopt = not set at this level (a plugin default may apply).
/// A value of 0 means "no limit", so a key can opt out of a default.
struct RateLimits {
  std::optional<std::int64_t> requests_per_minute;
  std::optional<std::int64_t> tokens_per_minute;
  std::optional<std::int64_t> max_concurrent;
  std::optional<std::int64_t> requests_per_day;
  std::optional<std::int64_t> tokens_per_day;
  std::optional<std::int64_t> tokens_per_month;

  /// One limit: its name in `limits` objects and its member.
  struct Field {
    std::string_view name;
    std::optional<std::int64_t> RateLimits::*member;
  };
  /// Every limit, in the order refusals are checked.
  static constexpr std::array<Field, 6> kFields{{
      {"max_concurrent", &RateLimits::max_concurrent},
      {"requests_per_minute", &RateLimits::requests_per_minute},
      {"tokens_per_minute", &RateLimits::tokens_per_minute},
      {"requests_per_day", &RateLimits::requests_per_day},
      {"tokens_per_day", &RateLimits::tokens_per_day},
      {"tokens_per_month", &RateLimits::tokens_per_month},
  }};

  /// Whether `name` is one of the limits above.
  static bool known(std::string_view name) {
    for (const auto& field : kFields) {
      if (field.name == name) return true;
    }
    return false;
  }

  /// The known limits of a stored `limits` object; members that are not non-negative integers
  /// (never stored: the admin API refuses them) are left unset.
  static RateLimits from_json(const nlohmann::json& limits) {
    RateLimits out;
    if (!limits.is_object()) return out;
    for (const auto& field : kFields) {
      const auto found = limits.find(std::string(field.name));
      if (found != limits.end() && found->is_number_integer() && found->get<std::int64_t>() >= 0) {
        out.*field.member = found->get<std::int64_t>();
      }
    }
    return out;
  }

  /// The limits that are set, as a `limits` object.
  nlohmann::json to_json() const {
    auto out = nlohmann::json::object();
    for (const auto& field : kFields) {
      if (const auto& value = this->*field.member) out[std::string(field.name)] = *value;
    }
    return out;
  }

  bool operator==(const RateLimits&) const = default;
};

}  // namespace gateway
