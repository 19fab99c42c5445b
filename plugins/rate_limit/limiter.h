// The limiter: every key's and tenant's counters in process memory, and the one lock under
// which a request is checked against every limit that applies and, when it passes all of them,
// reserves its share at both levels in the same step.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "gateway/plugin.h"
#include "quota_calendar.h"
#include "token_bucket.h"

namespace e2b::rate_limit {

/// The limits in RateLimits::kFields order, which is also the order refusals are checked in.
enum class Limit {
  MaxConcurrent,
  RequestsPerMinute,
  TokensPerMinute,
  RequestsPerDay,
  TokensPerDay,
  TokensPerMonth
};
inline constexpr std::size_t kLimitCount = gateway::RateLimits::kFields.size();
static_assert(kLimitCount == 6);
static_assert(gateway::RateLimits::kFields[static_cast<std::size_t>(Limit::TokensPerMinute)].name ==
              "tokens_per_minute");
static_assert(gateway::RateLimits::kFields[static_cast<std::size_t>(Limit::TokensPerMonth)].name ==
              "tokens_per_month");

/// The limit's name in `limits` objects.
std::string_view limit_name(Limit limit);

enum class Level { Key, Tenant };
inline const char* level_name(Level level) {
  return level == Level::Key ? "key" : "tenant";
}

/// Effective values of one level, indexed by Limit; 0 = no limit.
using LimitValues = std::array<std::int64_t, kLimitCount>;

/// The principal's own value where set, else the level default, else 0.
LimitValues effective(const gateway::RateLimits& own, const gateway::RateLimits& defaults);

/// The plugin's settings that shape the limiter.
struct LimiterSettings {
  const date::time_zone* zone = nullptr;
  gateway::RateLimits key_defaults;
  gateway::RateLimits tenant_defaults;
};

/// What an admitted request holds until it settles.
struct Ticket {
  std::string key_id;
  std::string tenant_id;
  std::int64_t tokens = 0;  ///< reserved: prompt estimate plus the answer's budget
  Seconds day;              ///< start of the day the request was counted in
  Seconds month;            ///< start of the month it was counted in
  /// The tokens_per_minute limits the reservation was taken from (0 = that level's bucket was not
  /// charged), so settling gives back to the same buckets.
  std::int64_t key_token_limit = 0;
  std::int64_t tenant_token_limit = 0;
};

/// Why a request was refused: the first limit that failed.
struct Refusal {
  Limit limit = Limit::MaxConcurrent;
  Level level = Level::Key;
  std::string subject;         ///< the key id or tenant id
  std::int64_t value = 0;      ///< the limit
  std::int64_t used = 0;       ///< in flight (max_concurrent) or used this period (quotas)
  std::int64_t available = 0;  ///< what is left (whole tokens or requests)
  std::int64_t needed = 0;     ///< what the request needed (1 for request limits)
  /// Seconds until the request could pass; nullopt when it never can (it needs more than the
  /// whole limit).
  std::optional<std::int64_t> retry_after;
  std::optional<Seconds> reset_at;  ///< end of the period (quotas)
};

/// The tightest limit of one kind (requests or tokens), for the x-ratelimit-* headers.
struct Meter {
  std::int64_t limit = 0;
  std::int64_t remaining = 0;
  std::chrono::milliseconds reset{0};  ///< until the bucket is full / the period ends
};

struct Meters {
  std::optional<Meter> requests;
  std::optional<Meter> tokens;
};

/// The outcome of an admission: a ticket or a refusal, and the meters after it.
struct Admission {
  std::optional<Ticket> ticket;
  std::optional<Refusal> refusal;
  Meters meters;
};

/// One limit's state, as GET /v1/me and the admin API show it.
struct LimitState {
  Limit limit = Limit::MaxConcurrent;
  Level level = Level::Key;
  std::int64_t value = 0;
  std::int64_t remaining = 0;
  std::optional<TimePoint> reset_at;  ///< null for max_concurrent
};

/// The LimitState array of the admin API's schema.
nlohmann::json to_json(const std::vector<LimitState>& states, TimePoint now);

class Limiter {
 public:
  explicit Limiter(LimiterSettings settings);

  /// Checks `principal` against every limit that applies and reserves one request and `tokens`
  /// tokens at both levels when all pass; nothing is reserved when one fails. Counters are kept
  /// for every key (even without limits), so a limit set later counts today's use.
  Admission admit(const gateway::Principal& principal, std::int64_t tokens, TimePoint now);

  /// Ends what `ticket` holds: frees its concurrency slot and replaces the reserved tokens with
  /// `used_tokens`. A request refused as the client's fault (`rejected`) gives its day's request
  /// back. A ticket of an earlier day or month only releases its slot.
  void settle(const Ticket& ticket, std::int64_t used_tokens, bool rejected, TimePoint now);

  /// Every limit that applies to `principal` at either level, with its state now.
  std::vector<LimitState> status(const gateway::Principal& principal, TimePoint now) const;

  /// Rebuilds the day and month counters from recorded usage: `today` since the start of the
  /// current day, `month` since the start of the current month.
  void restore(const std::vector<gateway::KeyUsage>& today, const std::vector<gateway::KeyUsage>& month,
               TimePoint now);

  const QuotaCalendar& calendar() const { return calendar_; }

  /// Shares `previous`'s counters from now on (a configuration reload): both limiters count into
  /// the same ones, so the requests `previous` admitted still settle there and count against
  /// this limiter's limits. Call before this limiter admits anything.
  void share_counters_of(const Limiter& previous);

 private:
  /// The counters of one key or tenant.
  struct Counters {
    std::int64_t in_flight = 0;
    std::optional<TokenBucket> request_bucket;
    std::optional<TokenBucket> token_bucket;
    Seconds day{};
    std::int64_t day_requests = 0;
    std::int64_t day_tokens = 0;
    Seconds month{};
    std::int64_t month_tokens = 0;
  };
  struct Periods {
    Period day;
    Period month;
  };
  /// One level of one request: its counters, limits and name.
  struct Subject {
    Counters* counters;
    const LimitValues* limits;
    Level level;
    const std::string* id;
  };

  Periods periods(TimePoint now) const;
  /// Moves `c` into the current periods, zeroing the counters of a period that ended.
  static void roll(Counters& c, const Periods& p);
  /// roll(), and refills (or creates, full) the buckets of the per-minute limits in force.
  static void bring_up_to_date(Counters& c, const LimitValues& limits, const Periods& p, TimePoint now);
  static std::optional<Refusal> check(Limit limit, const Subject& s, std::int64_t tokens, const Periods& p,
                                      TimePoint now);
  static void reserve(Counters& c, const LimitValues& limits, std::int64_t tokens);
  static Meters meters(const std::array<Subject, 2>& subjects, const Periods& p, TimePoint now);
  static std::optional<LimitState> state_of(Limit limit, const Counters& c, const LimitValues& limits,
                                            Level level, const Periods& p, TimePoint now);

  /// Every key's and tenant's counters, and the lock over them (and over cached_periods_).
  struct CounterState {
    std::mutex mutex;
    std::unordered_map<std::string, Counters> keys;
    std::unordered_map<std::string, Counters> tenants;
  };

  LimiterSettings settings_;
  QuotaCalendar calendar_;
  mutable std::optional<Periods> cached_periods_;  // the periods of the last call, reused while current
  std::shared_ptr<CounterState> state_ = std::make_shared<CounterState>();
};

}  // namespace e2b::rate_limit
