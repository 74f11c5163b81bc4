-- Create household_members linking users to households with a role (admin, parent, child); registration adds the admin row.
-- migrate:up
CREATE TABLE IF NOT EXISTS household_members (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    household_id uuid NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role varchar(50) NOT NULL,
    joined_at timestamptz DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT household_members_role_check CHECK (role IN ('admin', 'parent', 'child')),
    CONSTRAINT household_members_household_id_user_id_key UNIQUE (household_id, user_id)
);

CREATE INDEX IF NOT EXISTS idx_household_members_household_id ON household_members(household_id);
CREATE INDEX IF NOT EXISTS idx_household_members_user_id ON household_members(user_id);

-- migrate:down
DROP TABLE IF EXISTS household_members;
