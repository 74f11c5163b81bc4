-- Create task_completions: a child's completion of an assignment and the points earned.
-- migrate:up
CREATE TABLE IF NOT EXISTS task_completions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    household_id uuid NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    task_assignment_id uuid NOT NULL REFERENCES task_assignments(id) ON DELETE CASCADE,
    child_id uuid NOT NULL REFERENCES children(id) ON DELETE CASCADE,
    completed_at timestamptz DEFAULT CURRENT_TIMESTAMP,
    points_earned integer NOT NULL
);

CREATE INDEX IF NOT EXISTS idx_task_completions_household_id ON task_completions(household_id);
CREATE INDEX IF NOT EXISTS idx_task_completions_child_id ON task_completions(child_id);

-- migrate:down
DROP TABLE IF EXISTS task_completions;
