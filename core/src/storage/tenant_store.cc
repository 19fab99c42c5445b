// Tenant rows: create, list, read, update and soft-delete (revoking their keys).
#include "storage/tenant_store.h"

#include <limits>
#include <stdexcept>

#include "storage/stored_rows.h"

namespace gateway {

using namespace rows;

TenantRecord TenantStore::create_tenant(const std::string& name, nlohmann::json metadata,
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

std::vector<TenantRecord> TenantStore::tenants() {
  return tenants({"", std::numeric_limits<int>::max() - 1}, false);
}

std::vector<TenantRecord> TenantStore::tenants(const PageRequest& page, bool include_deleted) {
  std::vector<TenantRecord> out;
  auto q = db_.prepare(std::string("SELECT ") + kTenantColumns +
                       " FROM tenants WHERE id > ? AND (? OR deleted_at IS NULL) ORDER BY id LIMIT ?");
  q.bind(1, page.after).bind(2, std::int64_t{include_deleted}).bind(3, std::int64_t{page.limit} + 1);
  while (q.step()) out.push_back(read_tenant(q));
  return out;
}

std::optional<TenantRecord> TenantStore::tenant(const std::string& id) {
  auto q = db_.prepare(std::string("SELECT ") + kTenantColumns + " FROM tenants WHERE id = ?");
  q.bind(1, id);
  if (!q.step()) return std::nullopt;
  return read_tenant(q);
}

void TenantStore::update_tenant(const TenantRecord& t) {
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
  index_.reload();
}

int TenantStore::live_key_count(const std::string& tenant_id) {
  auto q = db_.prepare("SELECT COUNT(*) FROM api_keys WHERE tenant_id = ? AND status != 'revoked'");
  q.bind(1, tenant_id);
  q.step();
  return static_cast<int>(q.integer(0));
}

void TenantStore::delete_tenant(const std::string& id) {
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
  index_.reload();
}

}  // namespace gateway
