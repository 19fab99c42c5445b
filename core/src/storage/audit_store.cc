// The audit log of admin changes: appending entries and reading them newest first.
#include "storage/audit_store.h"

#include "storage/stored_rows.h"

namespace gateway {

using namespace rows;

void AuditStore::audit(const std::string& action, const std::string& target_id, const std::string& actor,
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

std::vector<AuditEntry> AuditStore::audit_entries(std::int64_t before, int limit) {
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

}  // namespace gateway
