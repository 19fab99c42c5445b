// The in-memory index of live keys by digest, rebuilt after every key change, that authenticates
// a request without touching the database.
#include "storage/key_index.h"

#include <mutex>

#include "gateway/hex.h"
#include "gateway/sha256.h"
#include "storage/stored_rows.h"

namespace gateway {

using namespace rows;

void KeyIndex::reload() {
  std::unordered_map<std::string, Entry> index;
  auto q =
      db_.prepare(std::string("SELECT ") + kKeyColumns +
                  ", k.digest, t.status, k.previous_digest, k.previous_valid_until, t.limits FROM api_keys k "
                  "JOIN tenants t ON t.id = k.tenant_id WHERE k.status != 'revoked'");
  const auto now = unix_now();
  constexpr int digest = kKeyColumnCount, tenant_status = digest + 1, previous = digest + 2,
                previous_until_column = digest + 3, tenant_limits = digest + 4;
  while (q.step()) {
    auto key = read_key(q, 0);
    Entry entry{principal_of(key, RateLimits::from_json(stored_json(q.text(tenant_limits), "tenants",
                                                                    key.tenant_id, "limits"))),
                key.status, key.expires_at, q.text(tenant_status), std::nullopt};
    if (key.models_unreadable) continue;  // refused rather than allowed every model
    const auto previous_until = q.optional_integer(previous_until_column);
    if (!q.is_null(previous) && previous_until && *previous_until > now) {
      auto previous_entry = entry;
      previous_entry.valid_until = previous_until;
      index[q.text(previous)] = std::move(previous_entry);
    }
    index[q.text(digest)] = std::move(entry);
  }
  std::unique_lock lock(mutex_);
  by_digest_ = std::move(index);
}

std::optional<Principal> KeyIndex::authenticate(std::string_view secret, std::int64_t now) const {
  return authenticate(sha256(secret), now);
}

std::optional<Principal> KeyIndex::authenticate(const KeyDigest& digest, std::int64_t now) const {
  const std::string hex_digest = to_hex(digest);
  std::shared_lock lock(mutex_);
  const auto it = by_digest_.find(hex_digest);
  if (it == by_digest_.end()) return std::nullopt;
  const auto& entry = it->second;
  if (entry.key_status != "active" || entry.tenant_status != "active") return std::nullopt;
  if (entry.expires_at && *entry.expires_at <= now) return std::nullopt;
  if (entry.valid_until && *entry.valid_until <= now) return std::nullopt;
  return entry.principal;
}

Principal principal_of(const KeyRecord& key, const RateLimits& tenant_limits) {
  Principal p;
  p.authenticated = true;
  p.key_id = key.id;
  p.key_mask = key.prefix;
  p.tenant_id = key.tenant_id;
  p.user = key.user;
  p.allowed_models = key.models;
  p.key_limits = RateLimits::from_json(key.limits);
  p.tenant_limits = tenant_limits;
  return p;
}

}  // namespace gateway
