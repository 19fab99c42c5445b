// Resolved handles of a metric family's series, so that an observation costs one small hash-map
// lookup instead of prometheus::Family::Add (a lock and a hash of the full label map).
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include <prometheus/family.h>
#include <prometheus/labels.h>

#include "labels.h"

namespace e2b::metrics {

/// The series of one family by label values, created on first use. Not thread-safe: one thread
/// observes (the gateway's log worker); scrapes read the family itself, not this cache.
/// `Args` are what every new series is built with (a histogram's bucket boundaries).
template <typename Metric, typename... Args>
class SeriesCache {
 public:
  SeriesCache(prometheus::Family<Metric>& family, std::vector<std::string> label_names, Args... args)
      : family_(family), label_names_(std::move(label_names)), args_(std::move(args)...) {}

  /// The series with these label values, given in the order of the label names.
  Metric& at(std::initializer_list<std::string_view> values) {
    std::string key = series_key(values);
    if (const auto found = series_.find(key); found != series_.end()) return *found->second;
    prometheus::Labels labels;
    auto name = label_names_.begin();
    for (const auto value : values) labels.emplace(*name++, std::string(value));
    Metric& metric =
        std::apply([&](const Args&... a) -> Metric& { return family_.Add(labels, a...); }, args_);
    series_.emplace(std::move(key), &metric);
    return metric;
  }

  std::size_t size() const { return series_.size(); }

 private:
  prometheus::Family<Metric>& family_;
  std::vector<std::string> label_names_;
  std::tuple<Args...> args_;
  std::unordered_map<std::string, Metric*> series_;  // owned by family_
};

}  // namespace e2b::metrics
