// The limiter's admission, settlement, status and restore (see limiter.h).
#include "limiter.h"

#include <algorithm>
#include <cmath>

namespace e2b::rate_limit {
namespace {

using std::chrono::milliseconds;

constexpr std::size_t index(Limit limit) {
  return static_cast<std::size_t>(limit);
}

constexpr Limit kAllLimits[] = {Limit::MaxConcurrent,  Limit::RequestsPerMinute, Limit::TokensPerMinute,
                                Limit::RequestsPerDay, Limit::TokensPerDay,      Limit::TokensPerMonth};

/// Whole units in a bucket; the epsilon keeps 0.9999999 from rounding refills down a unit.
std::int64_t whole(double level) {
  return static_cast<std::int64_t>(std::floor(level + 1e-9));
}

/// Whole seconds to wait for `wait`, at least 1.
std::int64_t retry_seconds(milliseconds wait) {
  return std::max<std::int64_t>(1, (wait.count() + 999) / 1000);
}

milliseconds until(Seconds instant, TimePoint now) {
  return std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(instant - now));
}

}  // namespace

std::string_view limit_name(Limit limit) {
  return gateway::RateLimits::kFields[index(limit)].name;
}

LimitValues effective(const gateway::RateLimits& own, const gateway::RateLimits& defaults) {
  LimitValues out{};
  for (std::size_t i = 0; i < kLimitCount; ++i) {
    const auto member = gateway::RateLimits::kFields[i].member;
    out[i] = (own.*member).has_value() ? *(own.*member) : (defaults.*member).value_or(0);
  }
  return out;
}

nlohmann::json to_json(const std::vector<LimitState>& states, TimePoint now) {
  auto out = nlohmann::json::array();
  for (const auto& s : states) {
    nlohmann::json item{
        {"name", limit_name(s.limit)}, {"level", level_name(s.level)}, {"limit", s.value},
        {"remaining", s.remaining},    {"reset_at", nullptr},          {"reset_seconds", nullptr}};
    if (s.reset_at) {
      const auto wait =
          std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(*s.reset_at - now));
      item["reset_at"] = std::chrono::ceil<std::chrono::seconds>(*s.reset_at).time_since_epoch().count();
      item["reset_seconds"] = static_cast<double>(wait.count()) / 1000.0;
    }
    out.push_back(std::move(item));
  }
  return out;
}

Limiter::Limiter(LimiterSettings settings) : settings_(std::move(settings)), calendar_(settings_.zone) {}

void Limiter::share_counters_of(const Limiter& previous) {
  state_ = previous.state_;
}

Limiter::Periods Limiter::periods(TimePoint now) const {
  const auto inside = [now](const Period& p) { return now >= p.start && now < p.end; };
  if (cached_periods_ && inside(cached_periods_->day) && inside(cached_periods_->month))
    return *cached_periods_;
  cached_periods_ = Periods{calendar_.day(now), calendar_.month(now)};
  return *cached_periods_;
}

void Limiter::roll(Counters& c, const Periods& p) {
  // Only forwards: a wall clock stepped back keeps the newer period's counts.
  if (p.day.start > c.day) {
    c.day = p.day.start;
    c.day_requests = 0;
    c.day_tokens = 0;
  }
  if (p.month.start > c.month) {
    c.month = p.month.start;
    c.month_tokens = 0;
  }
}

void Limiter::bring_up_to_date(Counters& c, const LimitValues& limits, const Periods& p, TimePoint now) {
  roll(c, p);
  const auto refill = [now](std::optional<TokenBucket>& bucket, std::int64_t limit) {
    if (limit <= 0) return;
    if (!bucket) {
      bucket.emplace(static_cast<double>(limit), now);
    } else {
      bucket->refill(static_cast<double>(limit), now);
    }
  };
  refill(c.request_bucket, limits[index(Limit::RequestsPerMinute)]);
  refill(c.token_bucket, limits[index(Limit::TokensPerMinute)]);
}

std::optional<Refusal> Limiter::check(Limit limit, const Subject& s, std::int64_t tokens, const Periods& p,
                                      TimePoint now) {
  const std::int64_t value = (*s.limits)[index(limit)];
  if (value <= 0) return std::nullopt;
  const Counters& c = *s.counters;
  Refusal r;
  r.limit = limit;
  r.level = s.level;
  r.subject = *s.id;
  r.value = value;
  const auto quota = [&](std::int64_t used, std::int64_t needed,
                         const Period& period) -> std::optional<Refusal> {
    if (used + needed <= value) return std::nullopt;
    r.used = used;
    r.available = std::max<std::int64_t>(0, value - used);
    r.needed = needed;
    r.reset_at = period.end;
    if (needed <= value) r.retry_after = retry_seconds(until(period.end, now));
    return r;
  };
  const auto bucket = [&](const TokenBucket& b, std::int64_t needed) -> std::optional<Refusal> {
    if (b.level() + 1e-9 >= static_cast<double>(needed)) return std::nullopt;
    r.available = std::max<std::int64_t>(0, whole(b.level()));
    r.needed = needed;
    if (needed <= value) r.retry_after = retry_seconds(b.time_until(static_cast<double>(needed), value));
    return r;
  };
  switch (limit) {
    case Limit::MaxConcurrent:
      if (c.in_flight < value) return std::nullopt;
      r.used = c.in_flight;
      r.needed = 1;
      r.retry_after = 1;  // a slot frees when any request ends: no time can be promised
      return r;
    case Limit::RequestsPerMinute:
      return bucket(*c.request_bucket, 1);
    case Limit::TokensPerMinute:
      return bucket(*c.token_bucket, tokens);
    case Limit::RequestsPerDay:
      return quota(c.day_requests, 1, p.day);
    case Limit::TokensPerDay:
      return quota(c.day_tokens, tokens, p.day);
    case Limit::TokensPerMonth:
      return quota(c.month_tokens, tokens, p.month);
  }
  return std::nullopt;
}

void Limiter::reserve(Counters& c, const LimitValues& limits, std::int64_t tokens) {
  ++c.in_flight;
  if (limits[index(Limit::RequestsPerMinute)] > 0) c.request_bucket->take(1);
  if (limits[index(Limit::TokensPerMinute)] > 0) c.token_bucket->take(static_cast<double>(tokens));
  ++c.day_requests;
  c.day_tokens += tokens;
  c.month_tokens += tokens;
}

std::optional<LimitState> Limiter::state_of(Limit limit, const Counters& c, const LimitValues& limits,
                                            Level level, const Periods& p, TimePoint now) {
  const std::int64_t value = limits[index(limit)];
  if (value <= 0) return std::nullopt;
  LimitState s;
  s.limit = limit;
  s.level = level;
  s.value = value;
  const auto from_bucket = [&](const std::optional<TokenBucket>& b) {
    // No bucket yet: it would start full.
    s.remaining = b ? whole(b->level()) : value;
    s.reset_at = now + (b ? b->time_until_full(static_cast<double>(value)) : milliseconds(0));
  };
  switch (limit) {
    case Limit::MaxConcurrent:
      s.remaining = value - c.in_flight;
      break;
    case Limit::RequestsPerMinute:
      from_bucket(c.request_bucket);
      break;
    case Limit::TokensPerMinute:
      from_bucket(c.token_bucket);
      break;
    case Limit::RequestsPerDay:
      s.remaining = value - c.day_requests;
      s.reset_at = p.day.end;
      break;
    case Limit::TokensPerDay:
      s.remaining = value - c.day_tokens;
      s.reset_at = p.day.end;
      break;
    case Limit::TokensPerMonth:
      s.remaining = value - c.month_tokens;
      s.reset_at = p.month.end;
      break;
  }
  return s;
}

Meters Limiter::meters(const std::array<Subject, 2>& subjects, const Periods& p, TimePoint now) {
  Meters out;
  const auto offer = [](std::optional<Meter>& tightest, const LimitState& s, TimePoint now) {
    const Meter m{s.value, std::max<std::int64_t>(0, s.remaining),
                  s.reset_at ? std::max(milliseconds(0), std::chrono::ceil<milliseconds>(*s.reset_at - now))
                             : milliseconds(0)};
    if (!tightest || m.remaining < tightest->remaining) tightest = m;
  };
  for (const Limit limit : kAllLimits) {
    if (limit == Limit::MaxConcurrent) continue;
    const bool requests = limit == Limit::RequestsPerMinute || limit == Limit::RequestsPerDay;
    for (const auto& s : subjects) {
      if (s.counters == nullptr) continue;
      if (auto state = state_of(limit, *s.counters, *s.limits, s.level, p, now)) {
        offer(requests ? out.requests : out.tokens, *state, now);
      }
    }
  }
  return out;
}

Admission Limiter::admit(const gateway::Principal& principal, std::int64_t tokens, TimePoint now) {
  const LimitValues key_limits = effective(principal.key_limits, settings_.key_defaults);
  const LimitValues tenant_limits = effective(principal.tenant_limits, settings_.tenant_defaults);
  std::lock_guard lock(state_->mutex);
  const Periods p = periods(now);
  Counters& key = state_->keys[principal.key_id];
  bring_up_to_date(key, key_limits, p, now);
  Counters* tenant = nullptr;
  if (!principal.tenant_id.empty()) {
    tenant = &state_->tenants[principal.tenant_id];
    bring_up_to_date(*tenant, tenant_limits, p, now);
  }
  const std::array<Subject, 2> subjects{{{&key, &key_limits, Level::Key, &principal.key_id},
                                         {tenant, &tenant_limits, Level::Tenant, &principal.tenant_id}}};
  Admission out;
  for (const Limit limit : kAllLimits) {
    for (const auto& s : subjects) {
      if (s.counters == nullptr) continue;
      if (auto refusal = check(limit, s, tokens, p, now)) {
        out.refusal = std::move(refusal);
        out.meters = meters(subjects, p, now);
        return out;
      }
    }
  }
  reserve(key, key_limits, tokens);
  if (tenant != nullptr) reserve(*tenant, tenant_limits, tokens);
  out.ticket = Ticket{principal.key_id,
                      principal.tenant_id,
                      tokens,
                      p.day.start,
                      p.month.start,
                      key_limits[index(Limit::TokensPerMinute)],
                      tenant != nullptr ? tenant_limits[index(Limit::TokensPerMinute)] : 0};
  out.meters = meters(subjects, p, now);
  return out;
}

void Limiter::settle(const Ticket& ticket, std::int64_t used_tokens, bool rejected, TimePoint now) {
  const std::int64_t delta = used_tokens - ticket.tokens;
  std::lock_guard lock(state_->mutex);
  const Periods p = periods(now);
  const auto release = [&](std::unordered_map<std::string, Counters>& map, const std::string& id,
                           std::int64_t token_limit) {
    const auto found = map.find(id);
    if (found == map.end()) return;
    Counters& c = found->second;
    c.in_flight = std::max<std::int64_t>(0, c.in_flight - 1);
    if (token_limit > 0 && c.token_bucket) {
      if (delta < 0) {
        c.token_bucket->give(static_cast<double>(-delta), static_cast<double>(token_limit));
      } else {
        c.token_bucket->take(static_cast<double>(delta));
      }
    }
    roll(c, p);
    // A reservation of an ended period only releases: the new period's counts are not its own.
    if (c.day == ticket.day) {
      c.day_tokens += delta;
      if (rejected) --c.day_requests;
    }
    if (c.month == ticket.month) c.month_tokens += delta;
  };
  release(state_->keys, ticket.key_id, ticket.key_token_limit);
  if (!ticket.tenant_id.empty()) release(state_->tenants, ticket.tenant_id, ticket.tenant_token_limit);
}

std::vector<LimitState> Limiter::status(const gateway::Principal& principal, TimePoint now) const {
  const LimitValues key_limits = effective(principal.key_limits, settings_.key_defaults);
  const LimitValues tenant_limits = effective(principal.tenant_limits, settings_.tenant_defaults);
  std::lock_guard lock(state_->mutex);
  const Periods p = periods(now);
  // Copies brought up to date, so that looking never changes what the next request sees.
  const auto current = [&](const std::unordered_map<std::string, Counters>& map, const std::string& id,
                           const LimitValues& limits) {
    const auto found = map.find(id);
    Counters c = found == map.end() ? Counters{} : found->second;
    bring_up_to_date(c, limits, p, now);
    return c;
  };
  const Counters key = current(state_->keys, principal.key_id, key_limits);
  const Counters tenant = current(state_->tenants, principal.tenant_id, tenant_limits);
  std::vector<LimitState> out;
  for (const Limit limit : kAllLimits) {
    if (auto s = state_of(limit, key, key_limits, Level::Key, p, now)) out.push_back(*s);
    if (principal.tenant_id.empty()) continue;
    if (auto s = state_of(limit, tenant, tenant_limits, Level::Tenant, p, now)) out.push_back(*s);
  }
  return out;
}

void Limiter::restore(const std::vector<gateway::KeyUsage>& today,
                      const std::vector<gateway::KeyUsage>& month, TimePoint now) {
  std::lock_guard lock(state_->mutex);
  const Periods p = periods(now);
  const auto counters = [&](std::unordered_map<std::string, Counters>& map,
                            const std::string& id) -> Counters& {
    Counters& c = map[id];
    roll(c, p);
    return c;
  };
  for (const auto& u : today) {
    for (Counters* c : {&counters(state_->keys, u.key_id),
                        u.tenant_id.empty() ? nullptr : &counters(state_->tenants, u.tenant_id)}) {
      if (c == nullptr) continue;
      c->day_requests += u.requests;
      c->day_tokens += u.tokens;
    }
  }
  for (const auto& u : month) {
    counters(state_->keys, u.key_id).month_tokens += u.tokens;
    if (!u.tenant_id.empty()) counters(state_->tenants, u.tenant_id).month_tokens += u.tokens;
  }
}

}  // namespace e2b::rate_limit
