// The gateway's upstream loops, one per HTTP reactor thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <vector>

#include "upstream/upstream_loop.h"

namespace gateway {

/// Routes each call to the right loop: a new transfer to the loop of the calling thread (the
/// reactor of the request's connection), anything about a transfer to the loop that runs it.
class UpstreamLoops {
 public:
  using TransferId = UpstreamLoop::TransferId;

  /// `count` loops, each with a connection cache of its share of `max_connections`.
  UpstreamLoops(std::size_t count, long max_connections);

  /// Starts a transfer on this thread's loop, or on the next one in turn when this thread
  /// drives none (any thread). See UpstreamLoop::start.
  TransferId start(UpstreamRequest request, std::shared_ptr<UpstreamObserver> observer,
                   std::shared_ptr<FlowControl> flow);
  void cancel(TransferId id);
  void resume(TransferId id);
  /// Stops every loop (UpstreamLoop::stop).
  void stop();
  /// Transfers in flight or waiting to start, over all loops.
  std::size_t active() const;
  /// TCP connections open to upstreams, over all loops.
  std::int64_t open_connections() const;
  /// The loops, for their drivers: loop i to reactor i.
  std::vector<ReactorWork*> work();

 private:
  UpstreamLoop& owner_of(TransferId id) { return *loops_[UpstreamLoop::number_of(id) % loops_.size()]; }

  std::vector<std::unique_ptr<UpstreamLoop>> loops_;
  std::atomic<std::size_t> next_{0};
};

}  // namespace gateway
