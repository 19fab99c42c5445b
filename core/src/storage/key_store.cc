#include "storage/key_store.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <chrono>
#include <mutex>
#include <stdexcept>

#include "gateway/secrets.h"
#include "storage/migrations.h"

namespace gateway {
namespace {

std::string hex(const unsigned char* data, std::size_t size) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 0xf];
  }
  return out;
}

std::vector<unsigned char> random_bytes(std::size_t n) {
  std::vector<unsigned char> bytes(n);
  if (RAND_bytes(bytes.data(), static_cast<int>(n)) != 1)
    throw std::runtime_error("the system CSPRNG failed");
  return bytes;
}

KeyRecord read_key(db::Statement& q, int from) {
  KeyRecord k;
  k.id = q.text(from);
  k.tenant_id = q.text(from + 1);
  k.user = q.text(from + 2);
  k.alias = q.text(from + 3);
  k.prefix = q.text(from + 4);
  k.status = q.text(from + 5);
  k.models = nlohmann::json::parse(q.text(from + 6)).get<std::vector<std::string>>();
  k.metadata = nlohmann::json::parse(q.text(from + 7));
  k.created_at = q.integer(from + 8);
  k.expires_at = q.optional_integer(from + 9);
  return k;
}

constexpr const char* kKeyColumns =
    "k.id, k.tenant_id, k.user, k.alias, k.prefix, k.status, k.models, k.metadata, k.created_at, "
    "k.expires_at";

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
  return hex(digest, sizeof digest);
}

std::string random_id(std::string_view prefix) {
  const auto bytes = random_bytes(8);
  return std::string(prefix) + hex(bytes.data(), bytes.size());
}

KeyStore::KeyStore(const std::string& path) : db_(path) {
  db::migrate(db_);
  reload();
}

void KeyStore::reload() {
  std::unordered_map<std::string, Entry> index;
  auto q = db_.prepare(std::string("SELECT ") + kKeyColumns +
                       ", k.digest, t.status, k.previous_digest, k.previous_valid_until FROM api_keys k "
                       "JOIN tenants t ON t.id = k.tenant_id WHERE k.status != 'revoked'");
  const auto now = unix_now();
  while (q.step()) {
    Entry entry{read_key(q, 0), q.text(11), std::nullopt};
    const auto previous_until = q.optional_integer(13);
    if (!q.is_null(12) && previous_until && *previous_until > now) {
      index[q.text(12)] = Entry{entry.key, entry.tenant_status, previous_until};
    }
    index[q.text(10)] = std::move(entry);
  }
  std::unique_lock lock(mutex_);
  by_digest_ = std::move(index);
}

TenantRecord KeyStore::create_tenant(const std::string& name, nlohmann::json metadata) {
  if (name.empty()) throw std::invalid_argument("name: must not be empty");
  if (!metadata.is_object()) throw std::invalid_argument("metadata: must be an object");
  TenantRecord t{random_id("ten_"), name, "active", std::move(metadata), unix_now()};
  db_.prepare(
         "INSERT INTO tenants (id, name, status, metadata, created_at, updated_at) VALUES (?, ?, 'active', "
         "?, ?, ?)")
      .bind(1, t.id)
      .bind(2, t.name)
      .bind(3, t.metadata.dump())
      .bind(4, t.created_at)
      .bind(5, t.created_at)
      .run();
  return t;
}

std::vector<TenantRecord> KeyStore::tenants() {
  std::vector<TenantRecord> out;
  auto q = db_.prepare("SELECT id, name, status, metadata, created_at FROM tenants ORDER BY id");
  while (q.step()) {
    out.push_back({q.text(0), q.text(1), q.text(2), nlohmann::json::parse(q.text(3)), q.integer(4)});
  }
  return out;
}

KeyStore::CreatedKey KeyStore::create_key(const NewKey& request) {
  if (request.user.empty()) throw std::invalid_argument("user: must not be empty");
  auto tenant = db_.prepare("SELECT status FROM tenants WHERE id = ?");
  tenant.bind(1, request.tenant_id);
  if (!tenant.step()) throw std::invalid_argument("tenant: no tenant " + request.tenant_id);
  if (request.expires_at && *request.expires_at <= unix_now()) {
    throw std::invalid_argument("expires_at: must be in the future");
  }
  CreatedKey created;
  created.secret = generate_key_secret();
  auto& k = created.key;
  k.id = random_id("key_");
  k.tenant_id = request.tenant_id;
  k.user = request.user;
  k.alias = request.alias;
  k.prefix = mask_secret(created.secret);
  k.models = request.models;
  k.metadata = request.metadata;
  k.created_at = unix_now();
  k.expires_at = request.expires_at;
  db_.prepare(
         "INSERT INTO api_keys (id, tenant_id, user, alias, prefix, digest, status, models, metadata, "
         "created_at, "
         "updated_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, ?, ?)")
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
      .run();
  reload();
  return created;
}

std::vector<KeyRecord> KeyStore::keys() {
  std::vector<KeyRecord> out;
  auto q = db_.prepare(std::string("SELECT ") + kKeyColumns + " FROM api_keys k ORDER BY k.id");
  while (q.step()) out.push_back(read_key(q, 0));
  return out;
}

std::optional<TenantRecord> KeyStore::tenant(const std::string& id) {
  auto q = db_.prepare("SELECT id, name, status, metadata, created_at FROM tenants WHERE id = ?");
  q.bind(1, id);
  if (!q.step()) return std::nullopt;
  return TenantRecord{q.text(0), q.text(1), q.text(2), nlohmann::json::parse(q.text(3)), q.integer(4)};
}

std::optional<KeyRecord> KeyStore::key(const std::string& id) {
  auto q = db_.prepare(std::string("SELECT ") + kKeyColumns + " FROM api_keys k WHERE k.id = ?");
  q.bind(1, id);
  if (!q.step()) return std::nullopt;
  return read_key(q, 0);
}

bool KeyStore::update_status(const char* sql, const std::string& id, const std::string& status) {
  if (status != "active" && status != "disabled")
    throw std::invalid_argument("status: must be active or disabled");
  db_.prepare(sql).bind(1, status).bind(2, unix_now()).bind(3, id).run();
  const bool changed = db_.changes() > 0;
  reload();
  return changed;
}

bool KeyStore::set_tenant_status(const std::string& id, const std::string& status) {
  return update_status("UPDATE tenants SET status = ?, updated_at = ? WHERE id = ?", id, status);
}

bool KeyStore::set_key_status(const std::string& id, const std::string& status) {
  return update_status("UPDATE api_keys SET status = ?, updated_at = ? WHERE id = ? AND status != 'revoked'",
                       id, status);
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
                     const std::string& request_id) {
  db_.prepare("INSERT INTO audit_log (ts, action, target_id, actor, request_id) VALUES (?, ?, ?, ?, ?)")
      .bind(1, unix_now())
      .bind(2, action)
      .bind(3, target_id)
      .bind(4, actor)
      .bind(5, request_id)
      .run();
}

bool KeyStore::revoke_key(const std::string& id) {
  const auto now = unix_now();
  db_.prepare("UPDATE api_keys SET status = 'revoked', revoked_at = ?, updated_at = ? WHERE id = ?")
      .bind(1, now)
      .bind(2, now)
      .bind(3, id)
      .run();
  const bool changed = db_.changes() > 0;
  reload();
  return changed;
}

std::optional<Principal> KeyStore::authenticate(std::string_view secret, std::int64_t now) const {
  const std::string digest = key_digest(secret);
  std::shared_lock lock(mutex_);
  const auto it = by_digest_.find(digest);
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
