// e2b-gateway: an OpenAI-compatible gateway in front of E2B Fragments.
#include <curl/curl.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <functional>
#include <iostream>
#include <sstream>
#include <thread>

#include "admin/router.h"
#include "config/config.h"
#include "pipeline/gateway_app.h"
#include "pipeline/log_worker.h"
#include "pipeline/plugin_chain.h"
#include "server/http_server.h"
#include "storage/key_store.h"
#include "storage/migrations.h"
#include "storage/storage_worker.h"
#include "upstream/upstream_loop.h"
#include "util/log.h"

#ifndef GATEWAY_VERSION
#define GATEWAY_VERSION "0.0.0"
#endif

namespace {

using namespace gateway;

std::filesystem::path executable_dir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::current_path() : exe.parent_path();
}

std::filesystem::path default_config_path() {
  if (const char* path = std::getenv("E2B_CONFIG"); path && *path) return path;
  return "config.yaml";
}

PluginHost make_host(const GatewayConfig& config, const KeyDirectory* keys = nullptr) {
  PluginHost host;
  host.models = &config.models;
  host.keys = keys;
  host.gateway_version = GATEWAY_VERSION;
  host.upstream_defaults.url = config.upstream.base_url;
  host.upstream_defaults.connect_timeout = config.upstream.connect_timeout;
  host.upstream_defaults.first_byte_timeout = config.upstream.first_byte_timeout;
  host.upstream_defaults.idle_timeout = config.upstream.idle_timeout;
  host.log = [](LogLevel level, const std::string& message) { log_message(level, message); };
  return host;
}

/// Waits until no chat answer is in flight, the grace period ends, or another signal arrives.
void wait_for_drain(const GatewayServices& services, const sigset_t& signals,
                    std::chrono::milliseconds grace) {
  const auto deadline = std::chrono::steady_clock::now() + grace;
  const timespec tick{0, 50'000'000};
  while (services.in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    if (sigtimedwait(&signals, nullptr, &tick) > 0) return;
  }
}

/// Ends every chat answer still in flight with `server_shutting_down`, then waits until each is
/// logged and the clients' sockets have taken the endings. A client that does not read gets
/// `kEndingsFlushLimit`, then its connection closes with the rest of the server.
void end_answers_in_flight(GatewayServices& services, const HttpServer& server) {
  constexpr auto kEndingsFlushLimit = std::chrono::milliseconds(2'000);
  const auto ended = services.exchanges.end_all();
  if (ended > 0) {
    log_message(LogLevel::Warn,
                std::to_string(ended) + " answers still in flight end with server_shutting_down");
  }
  const auto deadline = std::chrono::steady_clock::now() + kEndingsFlushLimit;
  auto unfinished = [&] { return services.in_flight.load() > 0 || server.blocked_connections() > 0; };
  while (unfinished() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (unfinished()) {
    log_message(LogLevel::Warn, std::to_string(services.in_flight.load()) + " answers unlogged and " +
                                    std::to_string(server.blocked_connections()) +
                                    " clients not reading after " +
                                    std::to_string(kEndingsFlushLimit.count()) + " ms; closing");
  }
}

/// Opens the SQLite database named by the configuration, creating its directory.
std::unique_ptr<KeyStore> open_key_store(const GatewayConfig& config) {
  if (config.storage_path.has_parent_path())
    std::filesystem::create_directories(config.storage_path.parent_path());
  return std::make_unique<KeyStore>(config.storage_path.string());
}

/// Parses "30d", "12h", "90m" or a number of seconds into seconds.
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

/// Runs one storage command of the CLI; returns the exit status.
int run_storage_command(const std::string& config_path,
                        const std::function<void(KeyStore&, const GatewayConfig&)>& command) {
  try {
    const auto config = load_config(config_path, executable_dir() / "plugins");
    auto store = open_key_store(config);
    command(*store, config);
    return 0;
  } catch (const ConfigError& e) {
    std::cerr << "invalid configuration " << config_path << ": " << e.what() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
  }
  return 2;
}

int check_config(const std::filesystem::path& path) {
  try {
    auto config = load_config(path, executable_dir() / "plugins");
    auto chain = PluginChain::load(config, make_host(config));
    std::cout << "configuration " << path.string() << " is valid\n"
              << "listen " << config.server.host << ":" << config.server.port << "\n"
              << "upstream " << config.upstream.base_url << "\n"
              << "models " << config.models.all().size() << "\n"
              << "plugin chain:\n";
    int i = 1;
    for (const auto& line : chain.describe()) std::cout << "  " << i++ << ". " << line << "\n";
    return 0;
  } catch (const ConfigError& e) {
    std::cerr << "invalid configuration " << path.string() << ": " << e.what() << "\n";
    return 2;
  }
}

int serve(const std::filesystem::path& path) {
  // Signals are taken synchronously by the main thread only; every other thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  GatewayConfig config;
  try {
    config = load_config(path, executable_dir() / "plugins");
  } catch (const ConfigError& e) {
    std::cerr << "invalid configuration " << path.string() << ": " << e.what() << "\n";
    return 2;
  }
  init_logging(config.log_level);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int status = 0;
  {
    std::unique_ptr<KeyStore> key_store;
    try {
      key_store = open_key_store(config);
    } catch (const std::exception& e) {
      std::cerr << "cannot open the database " << config.storage_path.string() << ": " << e.what() << "\n";
      shutdown_logging();
      return 2;
    }
    std::optional<PluginChain> chain;
    try {
      chain.emplace(PluginChain::load(config, make_host(config, key_store.get())));
    } catch (const ConfigError& e) {
      std::cerr << "invalid configuration " << path.string() << ": " << e.what() << "\n";
      shutdown_logging();
      return 2;
    }
    StorageWorker storage(*key_store);
    LogWorker log_worker([&chain, &storage](const RequestRecord& record) {
      log_message(LogLevel::Info, access_line(record));
      if (record.route == Route::ChatCompletions) storage.submit(usage_row(record));
      chain->on_log(record);
    });
    UpstreamLoop upstream(config.upstream.max_connections);
    GatewayServices services{&config, &*chain, &upstream, &log_worker, &storage, GATEWAY_VERSION};
    GatewayApp app(services);
    HttpServer server(config.server, app);
    std::unique_ptr<admin::AdminApi> admin_api;
    std::unique_ptr<HttpServer> admin_server;
    if (config.admin_tokens.empty()) {
      log_message(LogLevel::Warn,
                  "admin API disabled: set admin.token in config.yaml or E2B_ADMIN_TOKEN (16+ characters) to "
                  "enable it");
    } else {
      admin_api = std::make_unique<admin::AdminApi>(storage, config.admin_tokens, config.models);
      admin_server = std::make_unique<HttpServer>(config.admin_server, *admin_api);
    }
    try {
      server.start();
      if (admin_server) {
        admin_server->start();
        log_message(LogLevel::Info, "admin API listening on " + config.admin_server.host + ":" +
                                        std::to_string(admin_server->port()));
      }
    } catch (const std::exception& e) {
      log_message(LogLevel::Error, "cannot listen on " + config.server.host + ":" +
                                       std::to_string(config.server.port) + ": " + e.what());
      status = 1;
    }
    if (status == 0) {
      log_message(LogLevel::Info, std::string("e2b-gateway ") + GATEWAY_VERSION + " listening on " +
                                      config.server.host + ":" + std::to_string(server.port()) +
                                      ", upstream " + config.upstream.base_url + ", " +
                                      std::to_string(config.models.all().size()) + " models");
      for (const auto& line : chain->describe()) log_message(LogLevel::Info, "plugin " + line);
      int signal_number = 0;
      sigwait(&signals, &signal_number);
      services.draining = true;
      log_message(LogLevel::Info, std::string("received ") +
                                      (signal_number == SIGTERM ? "SIGTERM" : "SIGINT") + ", finishing " +
                                      std::to_string(services.in_flight.load()) +
                                      " answers in flight (a second signal ends them at once)");
      wait_for_drain(services, signals, config.server.shutdown_grace);
      end_answers_in_flight(services, server);
    }
    storage.close_jobs();  // no more posts from storage jobs
    if (admin_server) admin_server->stop();
    upstream.stop();    // no more posts from the upstream thread
    server.stop();      // reactors stop; connections close
    log_worker.stop();  // every finished request reaches the log phase
    storage.stop();     // and every usage row is committed
  }
  curl_global_cleanup();
  log_message(LogLevel::Info, "stopped");
  shutdown_logging();
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"e2b-gateway: an OpenAI-compatible gateway for E2B Fragments"};
  cli.set_version_flag("--version", std::string("e2b-gateway ") + GATEWAY_VERSION);
  std::string config_path = default_config_path().string();
  cli.add_option("--config,-c", config_path, "configuration file (default: $E2B_CONFIG or ./config.yaml)");
  auto* serve_cmd = cli.add_subcommand("serve", "run the gateway (the default)");
  serve_cmd->add_option("--config,-c", config_path, "configuration file");
  auto* check_cmd =
      cli.add_subcommand("check-config", "validate the configuration and print the plugin chain");
  check_cmd->add_option("--config,-c", config_path, "configuration file");
  auto* migrate_cmd = cli.add_subcommand("migrate", "apply pending database migrations and exit");
  migrate_cmd->add_option("--config,-c", config_path, "configuration file");

  auto* tenants_cmd = cli.add_subcommand("tenants", "manage tenants (teams)");
  tenants_cmd->require_subcommand(1);
  std::string tenant_name;
  auto* tenants_create = tenants_cmd->add_subcommand("create", "create a tenant and print its id");
  tenants_create->add_option("name", tenant_name, "tenant name")->required();
  auto* tenants_list = tenants_cmd->add_subcommand("list", "list tenants");

  auto* keys_cmd = cli.add_subcommand("keys", "manage per-user API keys");
  keys_cmd->require_subcommand(1);
  NewKey new_key;
  std::string models_csv;
  std::string expires;
  auto* keys_create = keys_cmd->add_subcommand("create", "create a key and print it once");
  keys_create->add_option("--tenant", new_key.tenant_id, "tenant id")->required();
  keys_create->add_option("--user", new_key.user, "who the key is for, e.g. an email")->required();
  keys_create->add_option("--alias", new_key.alias, "a label for the key");
  keys_create->add_option("--models", models_csv, "comma-separated models the key may use (default: all)");
  keys_create->add_option("--expires", expires, "lifetime, e.g. 30d, 12h");
  auto* keys_list = keys_cmd->add_subcommand("list", "list keys (never their secrets)");
  std::string key_id;
  auto* keys_revoke = keys_cmd->add_subcommand("revoke", "revoke a key at once");
  keys_revoke->add_option("id", key_id, "key id")->required();
  // --config may come anywhere, e.g. after `keys create …`.
  for (auto* sub : {tenants_cmd, keys_cmd}) sub->add_option("--config,-c", config_path, "configuration file");
  for (auto* sub : {tenants_create, tenants_list, keys_create, keys_list, keys_revoke}) sub->fallthrough();

  cli.require_subcommand(0, 1);
  CLI11_PARSE(cli, argc, argv);
  if (check_cmd->parsed()) return check_config(config_path);
  if (migrate_cmd->parsed()) {
    return run_storage_command(
        config_path, [](KeyStore&, const GatewayConfig&) { std::cout << "database is up to date\n"; });
  }
  if (tenants_create->parsed()) {
    return run_storage_command(config_path, [&](KeyStore& store, const GatewayConfig&) {
      const auto tenant = store.create_tenant(tenant_name);
      std::cout << tenant.id << "\n";
    });
  }
  if (tenants_list->parsed()) {
    return run_storage_command(config_path, [](KeyStore& store, const GatewayConfig&) {
      for (const auto& t : store.tenants()) std::cout << t.id << "\t" << t.status << "\t" << t.name << "\n";
    });
  }
  if (keys_create->parsed()) {
    return run_storage_command(config_path, [&](KeyStore& store, const GatewayConfig& config) {
      std::stringstream models(models_csv);
      for (std::string model; std::getline(models, model, ',');) {
        if (model.empty()) continue;
        if (!config.models.find(model)) throw std::invalid_argument("--models: unknown model " + model);
        new_key.models.push_back(model);
      }
      if (!expires.empty()) new_key.expires_at = unix_now() + parse_duration(expires);
      const auto created = store.create_key(new_key);
      std::cerr << "key " << created.key.id << " for " << created.key.user
                << " (shown only now; store it safely):\n";
      std::cout << created.secret << "\n";
    });
  }
  if (keys_list->parsed()) {
    return run_storage_command(config_path, [](KeyStore& store, const GatewayConfig&) {
      for (const auto& k : store.keys()) {
        std::cout << k.id << "\t" << k.status << "\t" << k.prefix << "\t" << k.tenant_id << "\t" << k.user
                  << "\t" << k.alias << "\n";
      }
    });
  }
  if (keys_revoke->parsed()) {
    return run_storage_command(config_path, [&](KeyStore& store, const GatewayConfig&) {
      if (!store.revoke_key(key_id)) throw std::invalid_argument("no key " + key_id);
      std::cout << "revoked " << key_id << "\n";
    });
  }
  return serve(config_path);
}
