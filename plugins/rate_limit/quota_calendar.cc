// Quota periods in a time zone (see quota_calendar.h).
#include "quota_calendar.h"

namespace e2b::rate_limit {

Seconds QuotaCalendar::start_of(date::local_days day) const {
  // choose::earliest: a repeated midnight starts the day at its first occurrence; for a
  // midnight that does not exist the zone answers the instant of the jump either way.
  return zone_->to_sys(date::local_seconds(day), date::choose::earliest);
}

date::local_days QuotaCalendar::local_day(std::chrono::system_clock::time_point now) const {
  return date::floor<date::days>(zone_->to_local(date::floor<std::chrono::seconds>(now)));
}

Period QuotaCalendar::day(std::chrono::system_clock::time_point now) const {
  const auto today = local_day(now);
  return {start_of(today), start_of(today + date::days{1})};
}

Period QuotaCalendar::month(std::chrono::system_clock::time_point now) const {
  const date::year_month_day today{local_day(now)};
  const auto first = today.year() / today.month() / 1;
  const auto next = first + date::months{1};
  return {start_of(date::local_days(first)), start_of(date::local_days(next))};
}

std::string utc_timestamp(Seconds instant) {
  return date::format("%Y-%m-%dT%H:%M:%SZ", instant);
}

}  // namespace e2b::rate_limit
