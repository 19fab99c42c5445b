// Tenants, keys, the audit log and the in-memory index that authenticates keys.
#include "storage/key_store.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <chrono>
#include <limits>
#include <mutex>
#include <set>
#include <stdexcept>

#include "gateway/hex.h"
#include "gateway/json_limits.h"
#include "gateway/secrets.h"
#include "storage/migrations.h"
#include "util/log.h"
#include "util/random_hex.h"

namespace gateway {
namespace {

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

constexpr const char* kKeyColumns =
    "k.id, k.tenant_id, k.user, k.alias, k.prefix, k.status, k.models, k.metadata, k.created_at, "
    "k.expires_at, k.limits";
constexpr int kKeyColumnCount = 11;

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

constexpr const char* kTenantColumns = "id, name, status, metadata, limits, created_at, deleted_at";

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

/// Limits are named non-negative integers (e.g. requests_per_minute), read by rate limiting.
void check_limits(const nlohmann::json& limits) {
  check_object(limits, "limits");
  if (limits.is_null()) return;
  if (limits.size() > kMaxLimits)
    throw std::invalid_argument("limits: must have at most " + std::to_string(kMaxLimits) + " names");
  for (const auto& [name, value] : limits.items()) {
    if (name.size() > kMaxLimitNameBytes) {
      throw std::invalid_argument("limits: names must be at most " + std::to_string(kMaxLimitNameBytes) +
                                  " bytes long");
    }
    if (!value.is_number_integer() || value.get<std::int64_t>() < 0)
      throw std::invalid_argument("limits." + name + ": must be a non-negative integer");
  }
}

}  // namespace

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string generate_key_secret() {
  const auto bytes = random_bytes(32);
  unsigned char encoded[64];
  const int n = EVP_EncodeBlock(encoded, bytes.data(), static_cast<int>(bytes.size()));
  std::string text(reinterpret_cast<const char*>(encoded), static_cast<std::size_t>(n));
  for (auto& c : text) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  while (!text.empty() && text.back() == '=') text.pop_back();
  return "sk-e2b-" + text;
}

std::string key_digest(std::string_view secret) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), digest);
  return to_hex(digest);
}

std::string random_id(std::string_view prefix) {
  return std::string(prefix) + random_hex(8);
}

KeyStore::KeyStore(const std::string& path) : db_(path) {
  // Key and admin changes must survive power loss; usage batches lower this for themselves.
  db_.exec("PRAGMA synchronous = FULL");
  db::migrate(db_);
  reload();
}

void KeyStore::reload() {
  std::unordered_map<std::string, Entry> index;
  auto q = db_.prepare(std::string("SELECT ") + kKeyColumns +
                       ", k.digest, t.status, k.previous_digest, k.previous_valid_until FROM api_keys k "
                       "JOIN tenants t ON t.id = k.tenant_id WHERE k.status != 'revoked'");
  const auto now = unix_now();
  constexpr int digest = kKeyColumnCount, tenant_status = digest + 1, previous = digest + 2,
                previous_until_column = digest + 3;
  while (q.step()) {
    Entry entry{read_key(q, 0), q.text(tenant_status), std::nullopt};
    if (entry.key.models_unreadable) continue;  // refused rather than allowed every model
    const auto previous_until = q.optional_integer(previous_until_column);
    if (!q.is_null(previous) && previous_until && *previous_until > now) {
      index[q.text(previous)] = Entry{entry.key, entry.tenant_status, previous_until};
    }
    index[q.text(digest)] = std::move(entry);
  }
  std::unique_lock lock(mutex_);
  by_digest_ = std::move(index);
}

TenantRecord KeyStore::create_tenant(const std::string& name, nlohmann::json metadata,
                                     nlohmann::json limits) {
  if (name.empty()) throw std::invalid_argument("name: must not be empty");
  check_metadata(metadata);
  check_limits(limits);
  if (metadata.is_null()) metadata = nlohmann::json::object();
  if (limits.is_null()) limits = nlohmann::json::object();
  TenantRecord t{random_id("ten_"), name,       "active",    std::move(metadata),
                 std::move(limits), unix_now(), std::nullopt};
  db_.prepare(
         "INSERT INTO tenants (id, name, status, metadata, limits, created_at, updated_at) VALUES (?, ?, "
         "'active', ?, ?, ?, ?)")
      .bind(1, t.id)
      .bind(2, t.name)
      .bind(3, t.metadata.dump())
      .bind(4, t.limits.dump())
      .bind(5, t.created_at)
      .bind(6, t.created_at)
      .run();
  return t;
}

std::vector<TenantRecord> KeyStore::tenants() {
  return tenants({"", std::numeric_limits<int>::max() - 1}, false);
}

std::vector<TenantRecord> KeyStore::tenants(const PageRequest& page, bool include_deleted) {
  std::vector<TenantRecord> out;
  auto q = db_.prepare(std::string("SELECT ") + kTenantColumns +
                       " FROM tenants WHERE id > ? AND (? OR deleted_at IS NULL) ORDER BY id LIMIT ?");
  q.bind(1, page.after).bind(2, std::int64_t{include_deleted}).bind(3, std::int64_t{page.limit} + 1);
  while (q.step()) out.push_back(read_tenant(q));
  return out;
}

KeyStore::CreatedKey KeyStore::create_key(const NewKey& request) {
  if (request.user.empty()) throw std::invalid_argument("user: must not be empty");
  auto tenant = db_.prepare("SELECT deleted_at FROM tenants WHERE id = ?");
  tenant.bind(1, request.tenant_id);
  if (!tenant.step()) throw std::invalid_argument("tenant: no tenant " + request.tenant_id);
  if (!tenant.is_null(0)) throw std::invalid_argument("tenant: tenant " + request.tenant_id + " is deleted");
  if (request.expires_at && *request.expires_at <= unix_now()) {
    throw std::invalid_argument("expires_at: must be in the future");
  }
  check_metadata(request.metadata);
  check_limits(request.limits);
  CreatedKey created;
  created.secret = generate_key_secret();
  auto& k = created.key;
  k.id = random_id("key_");
  k.tenant_id = request.tenant_id;
  k.user = request.user;
  k.alias = request.alias;
  k.prefix = mask_secret(created.secret);
  k.models = request.models;
  k.metadata = request.metadata.is_null() ? nlohmann::json::object() : request.metadata;
  k.limits = request.limits.is_null() ? nlohmann::json::object() : request.limits;
  k.created_at = unix_now();
  k.expires_at = request.expires_at;
  db_.prepare(
         "INSERT INTO api_keys (id, tenant_id, user, alias, prefix, digest, status, models, metadata, "
         "created_at, updated_at, expires_at, limits) VALUES (?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?, ?)")
      .bind(1, k.id)
      .bind(2, k.tenant_id)
      .bind(3, k.user)
      .bind(4, k.alias)
      .bind(5, k.prefix)
      .bind(6, key_digest(created.secret))
      .bind(7, nlohmann::json(k.models).dump())
      .bind(8, k.metadata.dump())
      .bind(9, k.created_at)
      .bind(10, k.created_at)
      .bind(11, k.expires_at)
      .bind(12, k.limits.dump())
      .run();
  reload();
  return created;
}

std::vector<KeyRecord> KeyStore::keys() {
  return keys({}, {"", std::numeric_limits<int>::max() - 1});
}

std::vector<KeyRecord> KeyStore::keys(const KeyFilter& filter, const PageRequest& page) {
  std::vector<KeyRecord> out;
  auto q = db_.prepare(std::string("SELECT ") + kKeyColumns +
                       " FROM api_keys k WHERE k.id > ?1 AND (?2 = '' OR k.tenant_id = ?2) AND "
                       "(?3 = '' OR k.user = ?3) AND (?4 = '' OR k.status = ?4) ORDER BY k.id LIMIT ?5");
  q.bind(1, page.after)
      .bind(2, filter.tenant_id)
      .bind(3, filter.user)
      .bind(4, filter.status)
      .bind(5, std::int64_t{page.limit} + 1);
  while (q.step()) out.push_back(read_key(q, 0));
  return out;
}

void KeyStore::update_key(const KeyRecord& k) {
  if (k.user.empty()) throw std::invalid_argument("user: must not be empty");
  if (k.models_unreadable) {
    throw std::invalid_argument(
        "models: the stored list could not be read; set models in the same change to repair the key");
  }
  check_metadata(k.metadata);
  check_limits(k.limits);
  db_.prepare(
         "UPDATE api_keys SET user = ?, alias = ?, models = ?, metadata = ?, limits = ?, expires_at = ?, "
         "updated_at = ? WHERE id = ?")
      .bind(1, k.user)
      .bind(2, k.alias)
      .bind(3, nlohmann::json(k.models).dump())
      .bind(4, k.metadata.dump())
      .bind(5, k.limits.dump())
      .bind(6, k.expires_at)
      .bind(7, unix_now())
      .bind(8, k.id)
      .run();
  reload();
}

std::optional<TenantRecord> KeyStore::tenant(const std::string& id) {
  auto q = db_.prepare(std::string("SELECT ") + kTenantColumns + " FROM tenants WHERE id = ?");
  q.bind(1, id);
  if (!q.step()) return std::nullopt;
  return read_tenant(q);
}

void KeyStore::update_tenant(const TenantRecord& t) {
  if (t.name.empty()) throw std::invalid_argument("name: must not be empty");
  if (t.status != "active" && t.status != "disabled")
    throw std::invalid_argument("status: must be active or disabled");
  check_metadata(t.metadata);
  check_limits(t.limits);
  db_.prepare(
         "UPDATE tenants SET name = ?, status = ?, metadata = ?, limits = ?, updated_at = ? WHERE id = ?")
      .bind(1, t.name)
      .bind(2, t.status)
      .bind(3, t.metadata.dump())
      .bind(4, t.limits.dump())
      .bind(5, unix_now())
      .bind(6, t.id)
      .run();
  reload();
}

int KeyStore::live_key_count(const std::string& tenant_id) {
  auto q = db_.prepare("SELECT COUNT(*) FROM api_keys WHERE tenant_id = ? AND status != 'revoked'");
  q.bind(1, tenant_id);
  q.step();
  return static_cast<int>(q.integer(0));
}

void KeyStore::delete_tenant(const std::string& id) {
  const auto now = unix_now();
  {
    db::Transaction tx(db_);
    db_.prepare(
           "UPDATE api_keys SET status = 'revoked', revoked_at = ?, updated_at = ? WHERE tenant_id = ? AND "
           "status != 'revoked'")
        .bind(1, now)
        .bind(2, now)
        .bind(3, id)
        .run();
    db_.prepare(
           "UPDATE tenants SET status = 'disabled', deleted_at = ?, updated_at = ? WHERE id = ? AND "
           "deleted_at "
           "IS NULL")
        .bind(1, now)
        .bind(2, now)
        .bind(3, id)
        .run();
    tx.commit();
  }
  reload();
}

std::optional<KeyRecord> KeyStore::key(const std::string& id) {
  auto q = db_.prepare(std::string("SELECT ") + kKeyColumns + " FROM api_keys k WHERE k.id = ?");
  q.bind(1, id);
  if (!q.step()) return std::nullopt;
  return read_key(q, 0);
}

bool KeyStore::set_key_status(const std::string& id, const std::string& status) {
  if (status != "active" && status != "disabled")
    throw std::invalid_argument("status: must be active or disabled");
  db_.prepare("UPDATE api_keys SET status = ?, updated_at = ? WHERE id = ? AND status != 'revoked'")
      .bind(1, status)
      .bind(2, unix_now())
      .bind(3, id)
      .run();
  const bool changed = db_.changes() > 0;
  reload();
  return changed;
}

std::optional<std::string> KeyStore::rotate_key(const std::string& id, std::int64_t grace_seconds) {
  if (grace_seconds < 0) throw std::invalid_argument("grace_seconds: must not be negative");
  const std::string secret = generate_key_secret();
  const auto now = unix_now();
  db_.prepare(
         "UPDATE api_keys SET previous_digest = digest, previous_valid_until = ?, digest = ?, prefix = ?, "
         "updated_at = ? WHERE id = ? AND status != 'revoked'")
      .bind(1, now + grace_seconds)
      .bind(2, key_digest(secret))
      .bind(3, mask_secret(secret))
      .bind(4, now)
      .bind(5, id)
      .run();
  if (db_.changes() == 0) return std::nullopt;
  reload();
  return secret;
}

void KeyStore::audit(const std::string& action, const std::string& target_id, const std::string& actor,
                     const std::string& request_id, const nlohmann::json& details) {
  db_.prepare(
         "INSERT INTO audit_log (ts, action, target_id, actor, request_id, details) VALUES (?, ?, ?, ?, ?, "
         "?)")
      .bind(1, unix_now())
      .bind(2, action)
      .bind(3, target_id)
      .bind(4, actor)
      .bind(5, request_id)
      .bind(6, details.dump())
      .run();
}

std::vector<AuditEntry> KeyStore::audit_entries(std::int64_t before, int limit) {
  std::vector<AuditEntry> out;
  auto q = db_.prepare(
      "SELECT id, ts, action, target_id, actor, request_id, details FROM audit_log WHERE (?1 = 0 OR id < ?1) "
      "ORDER BY id DESC LIMIT ?2");
  q.bind(1, before).bind(2, std::int64_t{limit} + 1);
  while (q.step()) {
    const auto id = q.integer(0);
    out.push_back({id, q.integer(1), q.text(2), q.text(3), q.text(4), q.text(5),
                   stored_json(q.text(6), "audit_log", std::to_string(id), "details")});
  }
  return out;
}

bool KeyStore::revoke_key(const std::string& id) {
  const auto now = unix_now();
  db_.prepare(
         "UPDATE api_keys SET status = 'revoked', revoked_at = ?, updated_at = ? WHERE id = ? AND status != "
         "'revoked'")
      .bind(1, now)
      .bind(2, now)
      .bind(3, id)
      .run();
  if (db_.changes() == 0) return key(id).has_value();  // already revoked: keep the first revoked_at
  reload();
  return true;
}

std::optional<Principal> KeyStore::authenticate(std::string_view secret, std::int64_t now) const {
  KeyDigest digest;
  SHA256(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), digest.data());
  return authenticate(digest, now);
}

std::optional<Principal> KeyStore::authenticate(const KeyDigest& digest, std::int64_t now) const {
  const std::string hex_digest = to_hex(digest);
  std::shared_lock lock(mutex_);
  const auto it = by_digest_.find(hex_digest);
  if (it == by_digest_.end()) return std::nullopt;
  const auto& key = it->second.key;
  const auto& tenant_status = it->second.tenant_status;
  if (key.status != "active" || tenant_status != "active") return std::nullopt;
  if (key.expires_at && *key.expires_at <= now) return std::nullopt;
  if (it->second.valid_until && *it->second.valid_until <= now) return std::nullopt;
  Principal p;
  p.authenticated = true;
  p.key_id = key.id;
  p.key_mask = key.prefix;
  p.tenant_id = key.tenant_id;
  p.user = key.user;
  p.allowed_models = key.models;
  return p;
}

}  // namespace gateway
