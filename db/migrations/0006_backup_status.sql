-- When the last backup and the last restore drill succeeded (decision 0022): one row per kind, written
-- by the backup tools (as the superuser) and read by every backend replica, which exports the two
-- times as Prometheus gauges. The service's role may only read it (AppRole revokes its writes).
-- A restore brings this table back to the moment restored, so the times go back too until the next
-- backup and drill: the alerts then fire, which is what an operator should hear after a restore.
CREATE TABLE backup_status (
    kind         text        PRIMARY KEY CHECK (kind IN ('backup', 'drill')),
    succeeded_at timestamptz NOT NULL,
    -- Which backup: its id, and for a drill what it checked.
    detail       text        NOT NULL DEFAULT ''
);
