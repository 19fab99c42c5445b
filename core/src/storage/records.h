// The rows the tenant, key and audit stores read and write, their bounds, and the helpers that
// make new ones: secrets, digests, ids and the clock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace gateway {

struct TenantRecord {
  std::string id;
  std::string name;
  std::string status = "active";
  nlohmann::json metadata = nlohmann::json::object();
  nlohmann::json limits = nlohmann::json::object();  ///< read by rate limiting
  std::int64_t created_at = 0;
  std::optional<std::int64_t> deleted_at;  ///< set once deleted; the row stays for usage history
};

struct KeyRecord {
  std::string id;
  std::string tenant_id;
  std::string user;
  std::string alias;
  std::string prefix;  ///< first characters of the key, for humans
  std::string status = "active";
  std::vector<std::string> models;
  /// The stored model list was damaged: the key is refused until its models are set again.
  bool models_unreadable = false;
  nlohmann::json metadata = nlohmann::json::object();
  nlohmann::json limits = nlohmann::json::object();  ///< read by rate limiting
  std::int64_t created_at = 0;
  std::optional<std::int64_t> expires_at;
};

/// One admin write as recorded in the audit log.
struct AuditEntry {
  std::int64_t id = 0;
  std::int64_t ts = 0;
  std::string action;
  std::string target_id;
  std::string actor;  ///< label of the admin token that made the change
  std::string request_id;
  nlohmann::json details = nlohmann::json::object();
};

/// What a new key should look like.
struct NewKey {
  std::string tenant_id;
  std::string user;
  std::string alias;
  std::vector<std::string> models;
  std::optional<std::int64_t> expires_at;
  nlohmann::json metadata = nlohmann::json::object();
  nlohmann::json limits = nlohmann::json::object();
};

/// Metadata of tenants and keys is an object of at most this many members,
inline constexpr std::size_t kMaxMetadataMembers = 64;
/// nesting at most this many levels of objects and arrays (the metadata object is level 1),
inline constexpr std::size_t kMaxMetadataDepth = 5;
/// and at most this many bytes as compact JSON.
inline constexpr std::size_t kMaxMetadataBytes = 16 * 1024;

/// Unix seconds now.
std::int64_t unix_now();

/// A freshly generated key: `sk-e2b-` + 43 characters of base64url (32 random bytes).
std::string generate_key_secret();
/// Hex SHA-256 of a key, the only form that is stored.
std::string key_digest(std::string_view secret);
/// A random id with a readable prefix, e.g. "key_3f9a…".
std::string random_id(std::string_view prefix);

/// Where a listing starts and how long it may be.
struct PageRequest {
  std::string after;  ///< the last id of the previous page; empty = from the start
  int limit = 50;
};

}  // namespace gateway
