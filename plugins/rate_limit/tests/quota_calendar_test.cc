// Unit tests of quota periods: day and month boundaries in several time zones, daylight-saving
// days of 23 and 25 hours, a local midnight that does not exist, month ends and a leap day.
#include "quota_calendar.h"

#include <gtest/gtest.h>

namespace e2b::rate_limit {
namespace {

using namespace std::chrono_literals;
using namespace date::literals;

/// An instant given in UTC.
std::chrono::system_clock::time_point utc(date::year_month_day day, std::chrono::seconds time = 0s) {
  return date::sys_days(day) + time;
}

std::string text(Seconds instant) {
  return utc_timestamp(instant);
}

QuotaCalendar in(const char* zone) {
  return QuotaCalendar(date::locate_zone(zone));
}

TEST(QuotaCalendar, UtcDaysAndMonths) {
  const auto c = in("UTC");
  const auto now = utc(2026_y / 12 / 1, 6h + 30min);
  EXPECT_EQ(text(c.day(now).start), "2026-12-01T00:00:00Z");
  EXPECT_EQ(text(c.day(now).end), "2026-12-02T00:00:00Z");
  EXPECT_EQ(text(c.month(now).start), "2026-12-01T00:00:00Z");
  EXPECT_EQ(text(c.month(now).end), "2027-01-01T00:00:00Z") << "the year rolls over";
  EXPECT_EQ(text(c.day(utc(2026_y / 12 / 2)).start), "2026-12-02T00:00:00Z")
      << "midnight belongs to the new day";
  EXPECT_EQ(text(c.day(utc(2026_y / 12 / 2) - 1s).start), "2026-12-01T00:00:00Z");
}

TEST(QuotaCalendar, MonthEndsAndTheLeapDay) {
  const auto c = in("UTC");
  EXPECT_EQ(text(c.month(utc(2028_y / 2 / 29, 23h)).end), "2028-03-01T00:00:00Z");
  EXPECT_EQ(text(c.day(utc(2028_y / 2 / 29, 23h)).end), "2028-03-01T00:00:00Z");
  EXPECT_EQ(text(c.day(utc(2028_y / 2 / 28, 12h)).end), "2028-02-29T00:00:00Z") << "2028 is a leap year";
  EXPECT_EQ(text(c.day(utc(2027_y / 2 / 28, 12h)).end), "2027-03-01T00:00:00Z");
  EXPECT_EQ(text(c.month(utc(2026_y / 4 / 30, 23h + 59min)).end), "2026-05-01T00:00:00Z");
  EXPECT_EQ(text(c.month(utc(2026_y / 1 / 31, 12h)).end), "2026-02-01T00:00:00Z");
}

TEST(QuotaCalendar, KolkataIsFiveAndAHalfHoursAhead) {
  const auto c = in("Asia/Kolkata");
  // 2026-11-30 18:29:59 UTC is 23:59:59 on Nov 30 in Kolkata; one second later is Dec 1.
  const auto before = utc(2026_y / 11 / 30, 18h + 29min + 59s);
  EXPECT_EQ(text(c.day(before).start), "2026-11-29T18:30:00Z");
  EXPECT_EQ(text(c.day(before).end), "2026-11-30T18:30:00Z");
  EXPECT_EQ(text(c.month(before).start), "2026-10-31T18:30:00Z");
  EXPECT_EQ(text(c.month(before).end), "2026-11-30T18:30:00Z");
  EXPECT_EQ(text(c.month(before + 1s).start), "2026-11-30T18:30:00Z") << "December began";
}

TEST(QuotaCalendar, NewYorkDaysOf23And25HoursAcrossDaylightSaving) {
  const auto c = in("America/New_York");
  // Spring forward on 2026-03-08: 02:00 EST -> 03:00 EDT, a 23-hour day.
  const auto spring = c.day(utc(2026_y / 3 / 8, 12h));
  EXPECT_EQ(text(spring.start), "2026-03-08T05:00:00Z");
  EXPECT_EQ(text(spring.end), "2026-03-09T04:00:00Z");
  EXPECT_EQ(spring.end - spring.start, 23h);
  // Fall back on 2026-11-01: 02:00 EDT -> 01:00 EST, a 25-hour day.
  const auto fall = c.day(utc(2026_y / 11 / 1, 12h));
  EXPECT_EQ(text(fall.start), "2026-11-01T04:00:00Z");
  EXPECT_EQ(fall.end - fall.start, 25h);
  // The repeated hour 01:00-02:00 belongs to the same day, both times.
  EXPECT_EQ(c.day(utc(2026_y / 11 / 1, 5h + 30min)).start, fall.start);
  EXPECT_EQ(c.day(utc(2026_y / 11 / 1, 6h + 30min)).start, fall.start);
  // The month of March starts in EST and ends in EDT.
  const auto march = c.month(utc(2026_y / 3 / 15));
  EXPECT_EQ(text(march.start), "2026-03-01T05:00:00Z");
  EXPECT_EQ(text(march.end), "2026-04-01T04:00:00Z");
  // Late evening in New York is already the next day in UTC.
  EXPECT_EQ(text(c.day(utc(2026_y / 12 / 2, 3h)).start), "2026-12-01T05:00:00Z");
}

TEST(QuotaCalendar, ANonexistentMidnightStartsTheDayWhenTheClocksJump) {
  // Sao Paulo moved its clocks from 00:00 to 01:00 on 2018-11-04: that midnight never happened.
  const auto c = in("America/Sao_Paulo");
  const auto day = c.day(utc(2018_y / 11 / 4, 15h));
  EXPECT_EQ(text(day.start), "2018-11-04T03:00:00Z") << "01:00 -02 is the first instant of the day";
  EXPECT_EQ(text(day.end), "2018-11-05T02:00:00Z");
  EXPECT_EQ(day.end - day.start, 23h);
  const auto before = c.day(utc(2018_y / 11 / 4, 2h + 59min));
  EXPECT_EQ(before.end, day.start) << "the day before ends where this one starts";
}

}  // namespace
}  // namespace e2b::rate_limit
