-- 0006 webhooks (PostgreSQL): one outgoing endpoint per workspace, told when a document of the
-- workspace becomes ready or fails for good. Deliveries are jobs on the queue "webhooks" (0003):
-- this table only says where they go. Times are Unix milliseconds.

CREATE TABLE webhooks (
  workspace_id TEXT PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
  url TEXT NOT NULL,  -- http(s), without credentials (checked by the API)
  -- The signing key, in clear. Unlike API keys and refresh tokens (stored as hashes, because the
  -- server only compares them), this secret is needed to compute HMAC-SHA256 signatures at every
  -- delivery, and a hash cannot sign. It is shown to the owner once, never returned again.
  secret TEXT NOT NULL,
  events TEXT NOT NULL DEFAULT '[]',  -- JSON array of subscribed event types
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL
);
