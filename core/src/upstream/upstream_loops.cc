// Picking the loop for each upstream call.
#include "upstream/upstream_loops.h"

#include <algorithm>

namespace gateway {

UpstreamLoops::UpstreamLoops(std::size_t count, long max_connections) {
  count = std::clamp<std::size_t>(count, 1, UpstreamLoop::kMaxLoops);
  const long share =
      std::max<long>(1, (max_connections + static_cast<long>(count) - 1) / static_cast<long>(count));
  for (std::size_t i = 0; i < count; ++i) loops_.push_back(std::make_unique<UpstreamLoop>(share, i));
}

UpstreamLoops::TransferId UpstreamLoops::start(UpstreamRequest request,
                                               std::shared_ptr<UpstreamObserver> observer,
                                               std::shared_ptr<FlowControl> flow) {
  UpstreamLoop* loop = UpstreamLoop::of_this_thread();
  const bool ours =
      std::any_of(loops_.begin(), loops_.end(), [loop](const auto& l) { return l.get() == loop; });
  if (!ours) loop = loops_[next_.fetch_add(1, std::memory_order_relaxed) % loops_.size()].get();
  return loop->start(std::move(request), std::move(observer), std::move(flow));
}

void UpstreamLoops::cancel(TransferId id) {
  owner_of(id).cancel(id);
}

void UpstreamLoops::resume(TransferId id) {
  owner_of(id).resume(id);
}

void UpstreamLoops::stop() {
  for (auto& loop : loops_) loop->stop();
}

std::size_t UpstreamLoops::active() const {
  std::size_t total = 0;
  for (const auto& loop : loops_) total += loop->active();
  return total;
}

std::int64_t UpstreamLoops::open_connections() const {
  std::int64_t total = 0;
  for (const auto& loop : loops_) total += loop->open_connections();
  return total;
}

std::vector<ReactorWork*> UpstreamLoops::work() {
  std::vector<ReactorWork*> out;
  for (auto& loop : loops_) out.push_back(loop.get());
  return out;
}

}  // namespace gateway
