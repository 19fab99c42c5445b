// Helpers for the metrics tests: reading the Prometheus text a scrape returns, and a catalog.
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include "gateway/models.h"

namespace e2b::metrics::testing {

/// The lines of a scrape.
inline std::vector<std::string> scrape_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

/// Whether the scrape has exactly this line.
inline bool has_line(const std::string& text, const std::string& line) {
  for (const auto& candidate : scrape_lines(text)) {
    if (candidate == line) return true;
  }
  return false;
}

/// The value of the sample whose name and labels are exactly `series` (e.g.
/// `gateway_outcomes_total{outcome="completed"}`), or -1 when the scrape has none.
inline double sample_value(const std::string& text, const std::string& series) {
  for (const auto& line : scrape_lines(text)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return -1;
}

/// A catalog of the models with these ids.
inline gateway::ModelCatalog catalog_of(const std::vector<std::string>& ids) {
  gateway::ModelCatalog catalog;
  for (const auto& id : ids) {
    gateway::ModelInfo info;
    info.id = id;
    catalog.add(std::move(info));
  }
  return catalog;
}

}  // namespace e2b::metrics::testing
