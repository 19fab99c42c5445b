-- Soft-deleted tenants (the rows stay for usage history), request-log indexes for every filter of
-- GET /admin/v1/requests, and usage rollups sized so a year of reports reads at most tens of
-- thousands of rows.
ALTER TABLE tenants ADD COLUMN deleted_at INTEGER;

CREATE INDEX usage_requests_by_model ON usage_requests (model, ts);
CREATE INDEX usage_requests_by_user ON usage_requests (user, ts);
CREATE INDEX usage_requests_by_outcome ON usage_requests (outcome, ts);

-- day × key × model, now clustered by its key, with covering indexes (a WITHOUT ROWID index
-- carries the primary key columns too) so no report looks rows up one by one.
CREATE TABLE usage_daily_clustered (
  day                TEXT NOT NULL,
  key_id             TEXT NOT NULL,
  model              TEXT NOT NULL,
  tenant_id          TEXT NOT NULL,
  requests           INTEGER NOT NULL DEFAULT 0,
  errors             INTEGER NOT NULL DEFAULT 0,
  prompt_tokens      INTEGER NOT NULL DEFAULT 0,
  completion_tokens  INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day, key_id, model)
) WITHOUT ROWID;
INSERT INTO usage_daily_clustered
  SELECT day, key_id, model, tenant_id, requests, errors, prompt_tokens, completion_tokens FROM usage_daily;
DROP TABLE usage_daily;
ALTER TABLE usage_daily_clustered RENAME TO usage_daily;
CREATE INDEX usage_daily_by_tenant ON usage_daily (tenant_id, day, requests, errors, prompt_tokens, completion_tokens);
CREATE INDEX usage_daily_by_key ON usage_daily (key_id, day, tenant_id, requests, errors, prompt_tokens, completion_tokens);
CREATE INDEX usage_daily_by_model ON usage_daily (model, day, tenant_id, requests, errors, prompt_tokens, completion_tokens);

-- month (YYYY-MM) × key × model: reports not grouped by day read whole months from here.
CREATE TABLE usage_monthly (
  month              TEXT NOT NULL,
  key_id             TEXT NOT NULL,
  model              TEXT NOT NULL,
  tenant_id          TEXT NOT NULL,
  requests           INTEGER NOT NULL DEFAULT 0,
  errors             INTEGER NOT NULL DEFAULT 0,
  prompt_tokens      INTEGER NOT NULL DEFAULT 0,
  completion_tokens  INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (month, key_id, model)
) WITHOUT ROWID;
INSERT INTO usage_monthly
  SELECT substr(day, 1, 7), key_id, model, MAX(tenant_id), SUM(requests), SUM(errors), SUM(prompt_tokens),
         SUM(completion_tokens)
  FROM usage_daily GROUP BY substr(day, 1, 7), key_id, model;
CREATE INDEX usage_monthly_by_tenant ON usage_monthly (tenant_id, month, requests, errors, prompt_tokens, completion_tokens);
CREATE INDEX usage_monthly_by_key ON usage_monthly (key_id, month, tenant_id, requests, errors, prompt_tokens, completion_tokens);
CREATE INDEX usage_monthly_by_model ON usage_monthly (model, month, tenant_id, requests, errors, prompt_tokens, completion_tokens);

-- day × model: reports that involve no key or tenant.
CREATE TABLE usage_daily_models (
  day                TEXT NOT NULL,
  model              TEXT NOT NULL,
  requests           INTEGER NOT NULL DEFAULT 0,
  errors             INTEGER NOT NULL DEFAULT 0,
  prompt_tokens      INTEGER NOT NULL DEFAULT 0,
  completion_tokens  INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day, model)
) WITHOUT ROWID;
INSERT INTO usage_daily_models
  SELECT day, model, SUM(requests), SUM(errors), SUM(prompt_tokens), SUM(completion_tokens)
  FROM usage_daily GROUP BY day, model;
