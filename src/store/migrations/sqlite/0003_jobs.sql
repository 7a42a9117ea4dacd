-- 0003 jobs (SQLite): the durable job queue (src/queue/). Times are Unix milliseconds in INTEGER
-- columns (like audit_log.created_at_ms): leases and retry delays need sub-second precision and
-- every eligibility check is the same integer comparison on both backends.

CREATE TABLE jobs (
  id TEXT PRIMARY KEY NOT NULL,
  -- NULL only for platform jobs. Deleting a workspace deletes its jobs.
  workspace_id TEXT REFERENCES workspaces (id) ON DELETE CASCADE,
  -- The workspace as a non-null sort key ('' = platform): fairness rotates over it and the
  -- idempotency index needs a value that compares equal for platform jobs (NULLs never do).
  workspace_key TEXT GENERATED ALWAYS AS (coalesce(workspace_id, '')) STORED,
  queue TEXT NOT NULL,
  type TEXT NOT NULL,
  payload TEXT NOT NULL DEFAULT '{}',
  -- A job whose attempt failed and that will be retried is 'waiting' with a later run_at_ms;
  -- 'dead' is the dead-letter queue.
  status TEXT NOT NULL DEFAULT 'waiting' CHECK (status IN ('waiting', 'active', 'completed', 'dead')),
  -- 0 urgent, 1 normal, 2 low: a number so that ORDER BY priority walks the index.
  priority INTEGER NOT NULL DEFAULT 1 CHECK (priority IN (0, 1, 2)),
  -- Counts leases taken (an attempt that crashed its worker counts too).
  attempts INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL DEFAULT 5 CHECK (max_attempts >= 1),
  run_at_ms INTEGER NOT NULL,
  lease_owner TEXT,
  lease_expires_at_ms INTEGER,
  -- Bumped by every lease and never reset: (id, lease_seq) names one lease, so a worker whose
  -- lease expired cannot complete, fail or extend the job after someone else leased it.
  lease_seq INTEGER NOT NULL DEFAULT 0,
  progress INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
  stage TEXT,
  -- JSON array of {"attempt", "at" (ms), "error"}; kept when a dead job is retried.
  errors TEXT NOT NULL DEFAULT '[]',
  last_error TEXT,
  idempotency_key TEXT,
  result TEXT,
  created_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  finished_at_ms INTEGER
);
-- Dequeue: only waiting jobs are in it; per queue, workspace by workspace, best priority and
-- earliest run_at first.
CREATE INDEX jobs_dequeue ON jobs (queue, workspace_key, priority, run_at_ms) WHERE status = 'waiting';
-- Expired leases of crashed workers.
CREATE INDEX jobs_leases ON jobs (lease_expires_at_ms) WHERE status = 'active';
CREATE UNIQUE INDEX jobs_idempotency ON jobs (workspace_key, queue, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
-- Retention cleanup and the dead-letter queue, platform-wide and per workspace (the latter also
-- serves the cascade from workspaces). Partial, so that waiting and active jobs stay out of it.
CREATE INDEX jobs_finished ON jobs (status, finished_at_ms) WHERE finished_at_ms IS NOT NULL;
CREATE INDEX jobs_workspace ON jobs (workspace_id, status, finished_at_ms);
