-- Tenants (teams) and their users' API keys. Only key digests are stored, never a key.
CREATE TABLE tenants (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  status      TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  metadata    TEXT NOT NULL DEFAULT '{}',
  limits      TEXT NOT NULL DEFAULT '{}',
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);

CREATE TABLE api_keys (
  id                    TEXT PRIMARY KEY,
  tenant_id             TEXT NOT NULL REFERENCES tenants (id),
  user                  TEXT NOT NULL,
  alias                 TEXT NOT NULL DEFAULT '',
  prefix                TEXT NOT NULL,             -- first characters, for humans
  digest                TEXT NOT NULL UNIQUE,      -- SHA-256 of the key, hex
  previous_digest       TEXT,                      -- the secret before the last rotation
  previous_valid_until  INTEGER,                   -- until when that old secret still works
  status                TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled', 'revoked')),
  models                TEXT NOT NULL DEFAULT '[]',
  metadata              TEXT NOT NULL DEFAULT '{}',
  limits                TEXT NOT NULL DEFAULT '{}',
  created_at            INTEGER NOT NULL,
  updated_at            INTEGER NOT NULL,
  expires_at            INTEGER,
  revoked_at            INTEGER
);
CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, id);
CREATE INDEX api_keys_by_user ON api_keys (user, id);
