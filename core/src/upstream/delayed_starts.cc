// The waiting list of delayed upstream starts.
#include "upstream/delayed_starts.h"

#include <algorithm>
#include <iterator>

namespace gateway {

void DelayedStarts::add(std::unique_ptr<UpstreamTransfer> transfer, Clock::time_point now,
                        Clock::duration delay) {
  transfer->due = now + delay;
  waiting_.push_back(std::move(transfer));
}

std::vector<std::unique_ptr<UpstreamTransfer>> DelayedStarts::take_due(Clock::time_point now) {
  const auto due = std::stable_partition(waiting_.begin(), waiting_.end(),
                                         [now](const auto& transfer) { return transfer->due > now; });
  std::vector<std::unique_ptr<UpstreamTransfer>> taken(std::make_move_iterator(due),
                                                       std::make_move_iterator(waiting_.end()));
  waiting_.erase(due, waiting_.end());
  return taken;
}

bool DelayedStarts::drop(std::uint64_t id) {
  const auto found = std::find_if(waiting_.begin(), waiting_.end(),
                                  [id](const auto& transfer) { return transfer->id == id; });
  if (found == waiting_.end()) return false;
  waiting_.erase(found);
  return true;
}

DelayedStarts::Clock::time_point DelayedStarts::next_due() const {
  auto earliest = Clock::time_point::max();
  for (const auto& transfer : waiting_) earliest = std::min(earliest, transfer->due);
  return earliest;
}

}  // namespace gateway
