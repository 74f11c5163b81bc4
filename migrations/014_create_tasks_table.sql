-- Create the tasks table: recurring chores defined per household with a scheduling rule.
-- migrate:up
CREATE TABLE IF NOT EXISTS tasks (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    household_id uuid NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    name varchar(255) NOT NULL,
    description text,
    points integer DEFAULT 10,
    rule_type varchar(50) NOT NULL,
    rule_config jsonb,
    created_at timestamptz DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamptz DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT tasks_rule_type_check CHECK (rule_type IN ('weekly_rotation', 'repeating', 'daily'))
);

CREATE INDEX IF NOT EXISTS idx_tasks_household_id ON tasks(household_id);

-- migrate:down
DROP TABLE IF EXISTS tasks;
