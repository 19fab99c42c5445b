// Reading tenant and key rows, and checking the JSON columns written to them.
#include "storage/stored_rows.h"

#include <mutex>
#include <set>
#include <stdexcept>

#include "gateway/json_limits.h"
#include "gateway/rate_limits.h"
#include "util/log.h"

namespace gateway::rows {

/// Logs, once per process for each row and column, that a stored value could not be read.
void warn_unreadable_once(const std::string& table, const std::string& row_id, const char* column,
                          const std::string& why) {
  static std::mutex mutex;
  static std::set<std::string> warned;
  const std::string where = table + " " + row_id + " " + column;
  {
    std::lock_guard lock(mutex);
    if (!warned.insert(where).second) return;
  }
  log_message(LogLevel::Warn,
              std::string("Stored ") + column + " of " + table + " row " + row_id + " " + why);
}

/// A JSON column as stored, or null when it is malformed or nests deeper than kMaxJsonDepth
/// (an older version could write both). Reading never fails and never recurses deeply.
nlohmann::json stored_json(const std::string& text, const std::string& table, const std::string& row_id,
                           const char* column) {
  auto parsed = parse_bounded_json(text);
  if (parsed.ok()) return std::move(parsed.value);
  warn_unreadable_once(table, row_id, column,
                       (parsed.failure == JsonFailure::TooDeep
                            ? "nests JSON deeper than " + std::to_string(kMaxJsonDepth) + " levels"
                            : std::string("is not valid JSON")) +
                           "; it is shown as null until it is set again");
  return nullptr;
}

namespace {

/// The names in a stored model list; nullopt unless it is an array of strings.
std::optional<std::vector<std::string>> model_names(const nlohmann::json& models) {
  if (!models.is_array()) return std::nullopt;
  std::vector<std::string> names;
  for (const auto& model : models) {
    if (!model.is_string()) return std::nullopt;
    names.push_back(model.get<std::string>());
  }
  return names;
}

}  // namespace

KeyRecord read_key(db::Statement& q, int from) {
  KeyRecord k;
  k.id = q.text(from);
  k.tenant_id = q.text(from + 1);
  k.user = q.text(from + 2);
  k.alias = q.text(from + 3);
  k.prefix = q.text(from + 4);
  k.status = q.text(from + 5);
  if (auto models = model_names(parse_bounded_json(q.text(from + 6)).value)) {
    k.models = std::move(*models);
  } else {
    k.models_unreadable = true;
    warn_unreadable_once(
        "api_keys", k.id, "models",
        "is not a readable list of model names; the key is refused until its models are set");
  }
  k.metadata = stored_json(q.text(from + 7), "api_keys", k.id, "metadata");
  k.created_at = q.integer(from + 8);
  k.expires_at = q.optional_integer(from + 9);
  k.limits = stored_json(q.text(from + 10), "api_keys", k.id, "limits");
  return k;
}

TenantRecord read_tenant(db::Statement& q) {
  const auto id = q.text(0);
  return {id,
          q.text(1),
          q.text(2),
          stored_json(q.text(3), "tenants", id, "metadata"),
          stored_json(q.text(4), "tenants", id, "limits"),
          q.integer(5),
          q.optional_integer(6)};
}

/// Null counts as an empty object.
void check_object(const nlohmann::json& value, const char* field) {
  if (!value.is_object() && !value.is_null())
    throw std::invalid_argument(std::string(field) + ": must be an object");
}

/// Metadata is free-form but small: see kMaxMetadataDepth and its neighbours.
void check_metadata(const nlohmann::json& metadata) {
  check_object(metadata, "metadata");
  if (metadata.is_null()) return;
  if (nests_deeper_than(metadata, kMaxMetadataDepth)) {
    throw std::invalid_argument("metadata: must nest at most " + std::to_string(kMaxMetadataDepth) +
                                " levels of objects and arrays, counting metadata itself");
  }
  if (metadata.size() > kMaxMetadataMembers)
    throw std::invalid_argument("metadata: must have at most " + std::to_string(kMaxMetadataMembers) +
                                " members");
  if (metadata.dump().size() > kMaxMetadataBytes) {
    throw std::invalid_argument("metadata: must be at most " + std::to_string(kMaxMetadataBytes) +
                                " bytes as compact JSON");
  }
}

/// Limits are non-negative integers under the names of RateLimits, read by rate limiting.
void check_limits(const nlohmann::json& limits) {
  check_object(limits, "limits");
  if (limits.is_null()) return;
  for (const auto& [name, value] : limits.items()) {
    if (!RateLimits::known(name)) {
      std::string names;
      for (const auto& field : RateLimits::kFields)
        names += (names.empty() ? "" : ", ") + std::string(field.name);
      // An unknown name is echoed only when short: a body may carry a huge one.
      const std::string shown = name.size() <= 64 ? "limits." + name : std::string("limits");
      throw std::invalid_argument(shown + ": is not a limit; the limits are " + names);
    }
    if (!value.is_number_integer() || value.get<std::int64_t>() < 0)
      throw std::invalid_argument("limits." + name + ": must be a non-negative integer (0 = no limit)");
  }
}

}  // namespace gateway::rows
