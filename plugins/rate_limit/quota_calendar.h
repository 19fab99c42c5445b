// Where day and month quotas begin and end: local midnight and the 1st of the month in the
// configured time zone, as instants. Days of 23 or 25 hours (daylight-saving changes) and a
// local midnight that does not exist (the clocks jump over it) are handled by the zone rules.
#pragma once

#include <chrono>
#include <string>

#include <date/tz.h>

namespace e2b::rate_limit {

using Seconds = std::chrono::time_point<std::chrono::system_clock, std::chrono::seconds>;

/// One quota period: [start, end).
struct Period {
  Seconds start;
  Seconds end;
  bool operator==(const Period&) const = default;
};

class QuotaCalendar {
 public:
  /// `zone` comes from date::locate_zone and lives as long as the program.
  explicit QuotaCalendar(const date::time_zone* zone) : zone_(zone) {}

  /// The local day holding `now`.
  Period day(std::chrono::system_clock::time_point now) const;
  /// The local calendar month holding `now`.
  Period month(std::chrono::system_clock::time_point now) const;
  const date::time_zone* zone() const { return zone_; }

 private:
  /// The first instant of local day `day`: its midnight, or the moment the clocks jump to when
  /// midnight does not exist; the earlier one when midnight happens twice.
  Seconds start_of(date::local_days day) const;
  date::local_days local_day(std::chrono::system_clock::time_point now) const;

  const date::time_zone* zone_;
};

/// `instant` as RFC 3339 in UTC, e.g. "2026-12-02T05:00:00Z".
std::string utc_timestamp(Seconds instant);

}  // namespace e2b::rate_limit
