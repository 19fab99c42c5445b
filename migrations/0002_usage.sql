-- One row per chat request, and the day × key × model aggregate kept in step on every write so
-- usage reports never scan the request log.
CREATE TABLE usage_requests (
  id                 INTEGER PRIMARY KEY,
  ts                 INTEGER NOT NULL,   -- unix milliseconds
  request_id         TEXT NOT NULL,
  tenant_id          TEXT NOT NULL,
  key_id             TEXT NOT NULL,
  user               TEXT NOT NULL,
  model              TEXT NOT NULL,
  upstream_model     TEXT NOT NULL,
  stream             INTEGER NOT NULL,
  status             INTEGER NOT NULL,
  outcome            TEXT NOT NULL,
  prompt_tokens      INTEGER NOT NULL,
  completion_tokens  INTEGER NOT NULL,
  total_tokens       INTEGER NOT NULL,
  estimated          INTEGER NOT NULL,
  duration_ms        INTEGER NOT NULL,
  ttft_ms            INTEGER
);
CREATE INDEX usage_requests_by_key ON usage_requests (key_id, ts);
CREATE INDEX usage_requests_by_tenant ON usage_requests (tenant_id, ts);
CREATE INDEX usage_requests_by_ts ON usage_requests (ts);

CREATE TABLE usage_daily (
  day                TEXT NOT NULL,      -- YYYY-MM-DD, UTC
  key_id             TEXT NOT NULL,
  model              TEXT NOT NULL,
  tenant_id          TEXT NOT NULL,
  requests           INTEGER NOT NULL DEFAULT 0,
  errors             INTEGER NOT NULL DEFAULT 0,
  prompt_tokens      INTEGER NOT NULL DEFAULT 0,
  completion_tokens  INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day, key_id, model)
);
CREATE INDEX usage_daily_by_tenant ON usage_daily (tenant_id, day);

CREATE TABLE audit_log (
  id          INTEGER PRIMARY KEY,
  ts          INTEGER NOT NULL,
  action      TEXT NOT NULL,
  target_id   TEXT NOT NULL,
  actor       TEXT NOT NULL,
  request_id  TEXT NOT NULL,
  details     TEXT NOT NULL DEFAULT '{}'
);
