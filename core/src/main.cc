// e2b-gateway: an OpenAI-compatible gateway in front of E2B Fragments.
#include <curl/curl.h>
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>
#include <thread>

#include "admin/cli.h"
#include "admin/router.h"
#include "admin/self_service.h"
#include "config/config.h"
#include "pipeline/config_reloader.h"
#include "pipeline/gateway_app.h"
#include "pipeline/gateway_monitor.h"
#include "pipeline/log_worker.h"
#include "pipeline/plugin_chain.h"
#include "server/http_server.h"
#include "storage/migrations.h"
#include "storage/storage.h"
#include "storage/storage_worker.h"
#include "storage/usage_store.h"
#include "upstream/upstream_loops.h"
#include "util/idle_memory_return.h"
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

/// The catalog of `generation`, keeping the generation alive as long as it is held.
std::shared_ptr<const ModelCatalog> catalog_of(std::shared_ptr<const Generation> generation) {
  const ModelCatalog* models = &generation->config.models;
  return {std::move(generation), models};
}

/// Takes signals until SIGINT or SIGTERM, which it returns. A SIGHUP reloads the configuration
/// on the storage worker (the plugins read stored keys and usage there); its result is logged.
/// Between signals it looks once a second whether a burst is over, to give its memory back.
int wait_for_stop(const sigset_t& signals, StorageWorker& storage, ConfigReloader& reloader,
                  const GatewayServices& services) {
  IdleMemoryReturn memory;
  const timespec second{1, 0};
  for (;;) {
    const int signal_number = sigtimedwait(&signals, nullptr, &second);
    if (signal_number < 0) {
      memory.observe(services.in_flight.load(), std::chrono::steady_clock::now());
      continue;
    }
    if (signal_number != SIGHUP) return signal_number;
    log_message(LogLevel::Info, "received SIGHUP, reloading the configuration");
    if (!storage.post([&reloader](Storage& store) { reloader.reload(store); })) {
      log_message(LogLevel::Error, "configuration reload refused: the storage worker is busy or stopping");
    }
  }
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

int check_config(const std::filesystem::path& path) {
  try {
    auto config = load_config(path, executable_dir() / "plugins");
    auto chain = PluginChain::load(config, make_plugin_host(config));
    std::cout << "configuration " << path.string() << " is valid\n"
              << "listen " << config.server.host << ":" << config.server.port << "\n";
    const auto& targets = config.upstream.targets;
    for (const auto& target : targets) {
      std::cout << "upstream " << target.base_url
                << (targets.size() > 1 ? " weight " + std::to_string(target.weight) : "") << "\n";
    }
    std::cout << "models " << config.models.all().size() << "\n"
              << "plugin chain:\n";
    int i = 1;
    for (const auto& line : chain.describe()) std::cout << "  " << i++ << ". " << line << "\n";
    return 0;
  } catch (const ConfigError& e) {
    std::cerr << "invalid configuration " << path.string() << ": " << e.what() << "\n";
    return 2;
  }
}

/// glibc gives the free memory at the top of a thread's heap back to the kernel (madvise) once
/// it passes 128 KB, and maps blocks over 128 KB with mmap of their own. Under load every request
/// made it return and fault in the same pages again (madvise, page faults and heap consolidation
/// were about a fifth of the gateway's CPU under wrk). Keeping up to 32 MB of free heap per arena
/// and mapping only blocks over 4 MB stops that churn; memory stays bounded by the peak in use.
void tune_allocator() {
  mallopt(M_TRIM_THRESHOLD, 32 << 20);
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
}

int serve(const std::filesystem::path& path) {
  tune_allocator();
  // Signals are taken synchronously by the main thread only; every other thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);  // reloads the configuration
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  const auto default_plugin_dir = executable_dir() / "plugins";
  GatewayConfig config;
  try {
    config = load_config(path, default_plugin_dir);
  } catch (const ConfigError& e) {
    std::cerr << "invalid configuration " << path.string() << ": " << e.what() << "\n";
    return 2;
  }
  init_logging(config.log_level, config.log_format);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int status = 0;
  {
    std::unique_ptr<Storage> stores;
    try {
      stores = open_storage(config.storage_path);
    } catch (const std::exception& e) {
      log_message(LogLevel::Error,
                  "cannot open the database " + config.storage_path.string() + ": " + e.what());
      shutdown_logging();
      return 2;
    }
    // Declared before the chain, which holds it through its plugins; it reads the services, the
    // workers and the upstream loop from the moment they are attached below.
    LiveGatewayMonitor monitor;
    std::shared_ptr<Generation> first;
    try {
      const StoredUsageHistory usage(stores->database());
      first = std::make_shared<Generation>(config, [&](const GatewayConfig& c) {
        return make_plugin_host(c, &stores->index(), &usage, &monitor);
      });
    } catch (const ConfigError& e) {
      log_message(LogLevel::Error, "invalid configuration " + path.string() + ": " + e.what());
      shutdown_logging();
      return 2;
    }
    // Requests pin the generation they start on; a reload makes a new one current.
    CurrentGeneration generations(std::move(first));
    StorageWorker storage(*stores);
    AccessLogBatch access_log;  // log worker thread only
    LogWorker log_worker(
        [&generations, &storage, &access_log](const RequestRecord& record, const Generation* ran_on) {
          const auto current = ran_on ? nullptr : generations.get();  // a record no request pinned
          const Generation& generation = ran_on ? *ran_on : *current;
          if (generation.config.log_access) access_log.add(record, generation.config.log_format);
          if (record.route == Route::ChatCompletions) storage.submit(usage_row(record));
          generation.chain.on_log(record);
        },
        65536, [&access_log] { access_log.flush(); });
    // One loop per reactor: each request's upstream exchange runs on its connection's thread.
    UpstreamLoops upstream(config.server.threads, config.upstream.max_connections);
    TaskWorker background;
    const admin::LimitStatus limit_status = [&generations](const Principal& principal) {
      return generations.get()->chain.limit_status(principal);
    };
    GatewayServices services{&generations,    &upstream,
                             &log_worker,     &storage,
                             GATEWAY_VERSION, admin::self_service_routes(&storage, limit_status),
                             &background};
    // Declared after every part it reads, so it is detached before any of them goes.
    const LiveGatewayMonitor::Attachment monitor_attachment(monitor,
                                                            {&services, &upstream, &log_worker, &storage});
    GatewayApp app(services);
    HttpServer server(config.server, app, upstream.work());
    ConfigReloader reloader(path, default_plugin_dir, services, &monitor);
    std::unique_ptr<admin::AdminApi> admin_api;
    std::unique_ptr<HttpServer> admin_server;
    if (config.admin_tokens.empty()) {
      log_message(LogLevel::Warn,
                  "admin API disabled: set admin.token in config.yaml or E2B_ADMIN_TOKEN (16+ characters) to "
                  "enable it");
    } else {
      admin::AdminFallback plugin_admin_phase = [&generations](const HttpRequest& request) {
        return generations.get()->chain.on_admin_request(request);
      };
      admin::ConfigReload reload = [&reloader](Storage& store) {
        return reload_response(reloader.reload(store));
      };
      admin::UpstreamHealth upstream_health = [&generations] {
        return generations.get()->chain.upstream_health();
      };
      admin_api = std::make_unique<admin::AdminApi>(
          storage, config.admin_tokens, catalog_of(generations.get()), limit_status,
          std::move(plugin_admin_phase), std::move(reload), std::move(upstream_health));
      reloader.on_applied([api = admin_api.get()](const std::shared_ptr<const Generation>& applied) {
        api->reconfigure(applied->config.admin_tokens, catalog_of(applied));
      });
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
      for (const auto& line : generations.get()->chain.describe())
        log_message(LogLevel::Info, "plugin " + line);
      const int signal_number = wait_for_stop(signals, storage, reloader, services);
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
    upstream.stop();    // no more upstream callbacks
    background.stop();  // nor from the background worker
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
  admin::StorageCommands storage_commands(cli, config_path);

  cli.require_subcommand(0, 1);
  CLI11_PARSE(cli, argc, argv);
  if (check_cmd->parsed()) return check_config(config_path);
  if (auto status = storage_commands.run(executable_dir() / "plugins")) return *status;
  return serve(config_path);
}
