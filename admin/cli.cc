// The command-line storage commands: each opens the database, does one thing and prints it.
#include "admin/cli.h"

#include <functional>
#include <iostream>
#include <sstream>

#include "config/config.h"

namespace gateway::admin {
namespace {

/// Runs one storage command; returns the exit status.
int run_storage_command(const std::string& config_path, const std::filesystem::path& plugin_dir,
                        const std::function<void(Storage&, const GatewayConfig&)>& command) {
  try {
    const auto config = load_config(config_path, plugin_dir);
    auto store = open_storage(config.storage_path);
    command(*store, config);
    return 0;
  } catch (const ConfigError& e) {
    std::cerr << "invalid configuration " << config_path << ": " << e.what() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
  }
  return 2;
}

void list_tenants(Storage& store, const GatewayConfig&) {
  for (const auto& t : store.tenants().tenants())
    std::cout << t.id << "\t" << t.status << "\t" << t.name << "\n";
}

void list_keys(Storage& store, const GatewayConfig&) {
  for (const auto& k : store.keys().keys()) {
    std::cout << k.id << "\t" << k.status << "\t" << k.prefix << "\t" << k.tenant_id << "\t" << k.user << "\t"
              << k.alias << "\n";
  }
}

}  // namespace

std::int64_t parse_duration(const std::string& text) {
  if (text.empty()) throw std::invalid_argument("empty duration");
  std::size_t used = 0;
  const long long amount = std::stoll(text, &used);
  const std::string unit = text.substr(used);
  const long long scale = unit.empty() || unit == "s" ? 1
                          : unit == "m"               ? 60
                          : unit == "h"               ? 3600
                          : unit == "d"               ? 86400
                                                      : 0;
  if (scale == 0 || amount <= 0) throw std::invalid_argument("duration must look like 30d, 12h, 90m or 3600");
  return amount * scale;
}

StorageCommands::StorageCommands(CLI::App& cli, std::string& config_path) : config_path_(config_path) {
  migrate_ = cli.add_subcommand("migrate", "apply pending database migrations and exit");
  migrate_->add_option("--config,-c", config_path, "configuration file");

  auto* tenants = cli.add_subcommand("tenants", "manage tenants (teams)");
  tenants->require_subcommand(1);
  tenants_create_ = tenants->add_subcommand("create", "create a tenant and print its id");
  tenants_create_->add_option("name", tenant_name_, "tenant name")->required();
  tenants_list_ = tenants->add_subcommand("list", "list tenants");

  auto* keys = cli.add_subcommand("keys", "manage per-user API keys");
  keys->require_subcommand(1);
  keys_create_ = keys->add_subcommand("create", "create a key and print it once");
  keys_create_->add_option("--tenant", new_key_.tenant_id, "tenant id")->required();
  keys_create_->add_option("--user", new_key_.user, "who the key is for, e.g. an email")->required();
  keys_create_->add_option("--alias", new_key_.alias, "a label for the key");
  keys_create_->add_option("--models", models_csv_, "comma-separated models the key may use (default: all)");
  keys_create_->add_option("--expires", expires_, "lifetime, e.g. 30d, 12h");
  keys_list_ = keys->add_subcommand("list", "list keys (never their secrets)");
  keys_revoke_ = keys->add_subcommand("revoke", "revoke a key at once");
  keys_revoke_->add_option("id", key_id_, "key id")->required();
  // --config may come anywhere, e.g. after `keys create …`.
  for (auto* sub : {tenants, keys}) sub->add_option("--config,-c", config_path, "configuration file");
  for (auto* sub : {tenants_create_, tenants_list_, keys_create_, keys_list_, keys_revoke_})
    sub->fallthrough();
}

std::optional<int> StorageCommands::run(const std::filesystem::path& plugin_dir) {
  const auto run_command = [&](const std::function<void(Storage&, const GatewayConfig&)>& command) {
    return run_storage_command(config_path_, plugin_dir, command);
  };
  if (migrate_->parsed()) {
    return run_command([](Storage&, const GatewayConfig&) { std::cout << "database is up to date\n"; });
  }
  if (tenants_create_->parsed()) {
    return run_command([&](Storage& store, const GatewayConfig&) {
      std::cout << store.tenants().create_tenant(tenant_name_).id << "\n";
    });
  }
  if (tenants_list_->parsed()) return run_command(list_tenants);
  if (keys_create_->parsed()) {
    return run_command([&](Storage& store, const GatewayConfig& config) {
      std::stringstream models(models_csv_);
      for (std::string model; std::getline(models, model, ',');) {
        if (model.empty()) continue;
        if (!config.models.find(model)) throw std::invalid_argument("--models: unknown model " + model);
        new_key_.models.push_back(model);
      }
      if (!expires_.empty()) new_key_.expires_at = unix_now() + parse_duration(expires_);
      const auto created = store.keys().create_key(new_key_);
      std::cerr << "key " << created.key.id << " for " << created.key.user
                << " (shown only now; store it safely):\n";
      std::cout << created.secret << "\n";
    });
  }
  if (keys_list_->parsed()) return run_command(list_keys);
  if (keys_revoke_->parsed()) {
    return run_command([&](Storage& store, const GatewayConfig&) {
      if (!store.keys().revoke_key(key_id_)) throw std::invalid_argument("no key " + key_id_);
      std::cout << "revoked " << key_id_ << "\n";
    });
  }
  return std::nullopt;
}

}  // namespace gateway::admin
