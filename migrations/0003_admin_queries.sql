-- Soft-deleted tenants (rows stay for usage history) and indexes for the admin usage queries.
ALTER TABLE tenants ADD COLUMN deleted_at INTEGER;
CREATE INDEX usage_daily_by_key ON usage_daily (key_id, day);
CREATE INDEX usage_daily_by_model ON usage_daily (model, day);
CREATE INDEX usage_requests_by_model ON usage_requests (model, ts);
CREATE INDEX usage_requests_by_user ON usage_requests (user, ts);
CREATE INDEX usage_requests_by_outcome ON usage_requests (outcome, ts);
