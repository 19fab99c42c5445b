// One upstream HTTP exchange as libcurl runs it: its easy handle, its options, and what has
// arrived so far. Owned and touched only by the UpstreamLoop that runs it.
#pragma once

#include <curl/curl.h>

#include <chrono>
#include <cstdint>
#include <memory>

#include "gateway/plugin.h"

namespace gateway {

/// Lets the consumer of a transfer hold the upstream back while its client is slow.
class FlowControl {
 public:
  virtual ~FlowControl() = default;
  /// Called on the transfer's loop thread before body bytes are delivered. Returning true pauses
  /// the transfer; the consumer must later resume it.
  virtual bool should_pause() = 0;
};

struct EasyHandleDeleter {
  void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};
using EasyHandle = std::unique_ptr<CURL, EasyHandleDeleter>;

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

struct UpstreamTransfer {
  using Clock = std::chrono::steady_clock;

  std::uint64_t id = 0;
  EasyHandle easy;
  std::unique_ptr<curl_slist, SlistDeleter> header_list;
  UpstreamRequest request;
  std::shared_ptr<UpstreamObserver> observer;
  std::shared_ptr<FlowControl> flow;
  Headers response_headers;
  bool got_head = false;        // status line and headers complete
  bool got_body = false;        // the first body byte arrived; the idle timeout applies from here
  bool head_delivered = false;  // observer->on_head called
  bool paused = false;
  Clock::time_point due{};  // when a delayed transfer starts
  Clock::time_point started = Clock::now();
  // The last body byte or resume: a proxy may send the head long before the model's first
  // token, so header lines never count as activity.
  Clock::time_point last_body = Clock::now();

  /// Takes `handle` (fresh or reset) and sets the options of this transfer's request on it.
  void configure(EasyHandle handle);
  /// Tells the observer the status and headers, once.
  void deliver_head();
  /// How the transfer ended, from curl's result. A timeout is named after the phase it cut
  /// short: connecting (no head yet), waiting for the first body byte, or a silence between them.
  UpstreamEnd end_for(CURLcode code) const;
};

}  // namespace gateway
