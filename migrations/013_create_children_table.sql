-- Create the children table: the household's children who get tasks assigned.
-- migrate:up
CREATE TABLE IF NOT EXISTS children (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    household_id uuid NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    name varchar(255) NOT NULL,
    birth_year integer,
    created_at timestamptz DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamptz DEFAULT CURRENT_TIMESTAMP
);

CREATE INDEX IF NOT EXISTS idx_children_household_id ON children(household_id);

-- migrate:down
DROP TABLE IF EXISTS children;
