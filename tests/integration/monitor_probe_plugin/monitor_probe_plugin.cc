// A plugin that shows the integration tests what the plugin API gives a monitoring plugin: on
// the admin listener, GET /probe/stats answers host.monitor's figures, GET /probe/records the
// timings and events of the requests its log phase saw, and GET /probe/throw fails (the chain
// must answer 500). With `hold_scrapes_while: <path>` it answers GET /metrics on the main
// listener itself, holding each scrape while that file exists (at most 10 s) after creating
// `<path>.held`, so that a test can see what else is served meanwhile. With `slow_end_hooks_ms: N`
// it gives each chat request an end hook that sleeps N ms and then counts it (GET /probe/ended),
// so that a test can see whether the hooks ran before its answer ended. Built for the integration tests only;
// never installed beside the shipped plugins, and it checks no credentials.
#include <atomic>
#include <chrono>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "gateway/plugin.h"

namespace {

using nlohmann::json;

class MonitorProbe : public gateway::Plugin {
 public:
  MonitorProbe(const gateway::GatewayMonitor* monitor, std::filesystem::path hold_scrapes_while,
               std::chrono::milliseconds slow_end_hooks)
      : monitor_(monitor),
        hold_scrapes_while_(std::move(hold_scrapes_while)),
        slow_end_hooks_(slow_end_hooks) {}

  std::optional<gateway::LocalResponse> on_request_headers(gateway::RequestContext& ctx) override {
    if (ctx.route() == gateway::Route::ChatCompletions && slow_end_hooks_.count() > 0) {
      ctx.on_request_end([this](const gateway::RequestRecord&) {
        std::this_thread::sleep_for(slow_end_hooks_);
        ended_.fetch_add(1);
      });
    }
    if (ctx.route() != gateway::Route::Metrics || hold_scrapes_while_.empty()) return std::nullopt;
    std::ofstream(hold_scrapes_while_.string() + ".held") << "held\n";
    for (int i = 0; i < 1000 && std::filesystem::exists(hold_scrapes_while_); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return gateway::json_response(200, {{"scrape", "held"}});
  }

  void on_log(const gateway::RequestRecord& record) override {
    json events = json::array();
    for (const auto& event : record.events) {
      json labels = json::object();
      for (const auto& [name, value] : event.labels) labels[name] = value;
      events.push_back({{"name", event.name}, {"labels", labels}});
    }
    std::lock_guard lock(mutex_);
    records_.push_back({{"request_id", record.request_id},
                        {"status", record.status},
                        {"elapsed_us", record.elapsed.count()},
                        {"upstream_wait_us", record.upstream_wait.count()},
                        {"events", events}});
    if (records_.size() > kKeptRecords) records_.pop_front();
  }

  std::optional<gateway::LocalResponse> on_admin_request(const gateway::HttpRequest& request) override {
    if (request.method != "GET") return std::nullopt;
    if (request.path == "/probe/stats") return gateway::json_response(200, stats());
    if (request.path == "/probe/ended") return gateway::json_response(200, {{"ended", ended_.load()}});
    if (request.path == "/probe/throw") throw std::runtime_error("the probe fails on purpose");
    if (request.path == "/probe/records") {
      std::lock_guard lock(mutex_);
      return gateway::json_response(200, json(std::vector<json>(records_.begin(), records_.end())));
    }
    return std::nullopt;
  }

 private:
  static constexpr std::size_t kKeptRecords = 256;

  json stats() const {
    if (monitor_ == nullptr) return nullptr;
    const auto s = monitor_->stats();
    return {{"in_flight_requests", s.in_flight_requests},
            {"open_streams", s.open_streams},
            {"upstream_connections", s.upstream_connections},
            {"usage_queue_depth", s.usage_queue_depth},
            {"usage_rows_dropped", s.usage_rows_dropped},
            {"config_reloads_succeeded", s.config_reloads_succeeded},
            {"config_reloads_failed", s.config_reloads_failed}};
  }

  const gateway::GatewayMonitor* monitor_;
  const std::filesystem::path hold_scrapes_while_;
  const std::chrono::milliseconds slow_end_hooks_;
  std::atomic<int> ended_{0};
  std::mutex mutex_;
  std::deque<json> records_;
};

std::unique_ptr<gateway::Plugin> make_probe(const gateway::PluginHost& host, const json& config) {
  return std::make_unique<MonitorProbe>(host.monitor, config.value("hold_scrapes_while", std::string()),
                                        std::chrono::milliseconds(config.value("slow_end_hooks_ms", 0)));
}

}  // namespace

GATEWAY_PLUGIN("monitor_probe", &make_probe)
