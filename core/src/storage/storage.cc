// Opening the database: its file, durability setting, migrations and the first index load.
#include "storage/storage.h"

#include "storage/migrations.h"

namespace gateway {

Storage::Storage(const std::string& path) : db_(path) {
  // Key and admin changes must survive power loss; usage batches lower this for themselves.
  db_.exec("PRAGMA synchronous = FULL");
  db::migrate(db_);
  index_.reload();
}

std::unique_ptr<Storage> open_storage(const std::filesystem::path& path) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  return std::make_unique<Storage>(path.string());
}

}  // namespace gateway
