-- Quota counters are rebuilt from the rollups at start-up, and a request refused as the client's
-- fault (outcome `rejected`) does not count against a request quota: the day rollup counts them.
ALTER TABLE usage_daily ADD COLUMN rejected INTEGER NOT NULL DEFAULT 0;
-- Recent days, which the day and month quotas read, are filled in from the request log.
UPDATE usage_daily SET rejected = (
  SELECT COUNT(*) FROM usage_requests r
  WHERE r.key_id = usage_daily.key_id AND r.model = usage_daily.model AND r.outcome = 'rejected'
    AND r.ts >= CAST(strftime('%s', usage_daily.day) AS INTEGER) * 1000
    AND r.ts < CAST(strftime('%s', usage_daily.day, '+1 day') AS INTEGER) * 1000)
WHERE day >= date('now', '-40 days');
