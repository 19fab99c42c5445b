// API key rows: create, list, read, update, disable, rotate and revoke.
#include "storage/key_store.h"

#include <limits>
#include <stdexcept>

#include "gateway/secrets.h"
#include "storage/stored_rows.h"

namespace gateway {

using namespace rows;

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
  index_.reload();
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
  index_.reload();
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
  index_.reload();
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
  index_.reload();
  return secret;
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
  index_.reload();
  return true;
}

}  // namespace gateway
