-- Create the schema_migrations tracking table (and applied_at index) that hand-migrated databases already have, so the runner can adopt it in place.
-- migrate:up
CREATE TABLE IF NOT EXISTS schema_migrations (
    version varchar(10) PRIMARY KEY,
    name varchar(255) NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS idx_schema_migrations_applied_at ON schema_migrations(applied_at);

-- migrate:down
-- Deliberate no-op: the runner owns schema_migrations and keeps its history there, so rolling back 000 never drops it.
