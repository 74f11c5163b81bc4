-- Create task_assignments: a task assigned to a child for a due date, with its status.
-- migrate:up
CREATE TABLE IF NOT EXISTS task_assignments (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    household_id uuid NOT NULL REFERENCES households(id) ON DELETE CASCADE,
    task_id uuid NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
    child_id uuid NOT NULL REFERENCES children(id) ON DELETE CASCADE,
    due_date date NOT NULL,
    status varchar(50) DEFAULT 'pending',
    created_at timestamptz DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT task_assignments_status_check CHECK (status IN ('pending', 'completed', 'overdue'))
);

CREATE INDEX IF NOT EXISTS idx_task_assignments_household_id ON task_assignments(household_id);
CREATE INDEX IF NOT EXISTS idx_task_assignments_child_id ON task_assignments(child_id);
CREATE INDEX IF NOT EXISTS idx_task_assignments_due_date ON task_assignments(due_date);

-- migrate:down
DROP TABLE IF EXISTS task_assignments;
