// One chat request's calls to the upstream targets: the first attempt, and retries on another
// target while no output has reached the client.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/plugin.h"
#include "request_builder.h"
#include "target_pool.h"

namespace e2b::fragments {

/// Where one target's requests go.
struct TargetRequest {
  std::string base_url;              ///< as configured, shown by the health view
  std::string url;                   ///< base_url + the chat path
  gateway::Headers headers;          ///< the plugin's headers, then the target's own
  nlohmann::json provider_api_keys;  ///< the plugin's keys, overridden by the target's
};

/// What the plugin shares with its requests in flight (which may outlive a reload of the plugin).
/// Thread-safe.
class Upstreams {
 public:
  /// `weights` has one entry per target.
  Upstreams(std::vector<TargetRequest> targets, TargetPool::Log log, const std::vector<int>& weights,
            const gateway::UpstreamFailover& failover, const gateway::UpstreamRequest& timeouts);

  const std::vector<TargetRequest>& targets() const { return targets_; }
  TargetPool& pool() { return pool_; }
  const gateway::UpstreamFailover& failover() const { return failover_; }
  const gateway::UpstreamRequest& timeouts() const { return timeouts_; }
  /// A number in [0, 1) for backoff jitter.
  double unit_random();

 private:
  const std::vector<TargetRequest> targets_;
  TargetPool pool_;
  const gateway::UpstreamFailover failover_;
  const gateway::UpstreamRequest timeouts_;
  std::mutex random_mutex_;
  std::mt19937_64 random_{std::random_device{}()};
};

/// How an attempt's answer is turned into output (the same for every attempt).
struct AnswerOptions {
  bool commentary_as_reasoning = false;
  std::optional<long long> max_tokens;
};

/// The attempts of one request. Made on the reactor by call_upstream; each attempt's observer
/// holds it, so it lives until the last attempt ended or was cancelled. Attempts never overlap.
class FailoverCall : public std::enable_shared_from_this<FailoverCall> {
 public:
  /// `body` is the Fragments request without its provider key; `provider_id` picks the key.
  FailoverCall(std::shared_ptr<Upstreams> upstreams, gateway::RequestContext& ctx,
               std::shared_ptr<gateway::ResponseSink> sink, FragmentsBody body, std::string provider_id,
               AnswerOptions options);

  /// Sends the first attempt, or fails the sink at once when no target may take it.
  void start();

  /// The attempt on `target` got an answer head that starts output (its upstream works): no
  /// retry can follow, so the request body is released.
  void answered(std::size_t target);

  /// The attempt on `target` ended as (`status`, `end`): records it and, when it is retryable and
  /// attempts and budget allow, starts the next attempt; otherwise the client gets `error`.
  /// `output_sent`: the client already had output, so nothing is retried. Upstream loop's thread.
  void attempt_failed(std::size_t target, int status, gateway::UpstreamEnd end,
                      const gateway::Headers& headers, gateway::LocalResponse error, bool output_sent);

 private:
  /// Starts an attempt on `target` after `delay`.
  void launch(std::size_t target, std::chrono::milliseconds delay);
  /// Whether another attempt was started; with `elsewhere`, only on a target not tried yet.
  bool retry(bool elsewhere);

  const std::shared_ptr<Upstreams> upstreams_;
  gateway::RequestContext& ctx_;  // valid while an attempt's observer runs (the context holds it)
  const std::shared_ptr<gateway::ResponseSink> sink_;
  FragmentsBody body_;  // released after a 200 head
  const std::string provider_id_;
  const AnswerOptions options_;
  const std::string request_id_;
  // Touched by one attempt's callbacks at a time (attempts never overlap).
  std::vector<bool> tried_;
  int attempts_ = 0;
  std::chrono::milliseconds backoff_spent_{0};
};

}  // namespace e2b::fragments
