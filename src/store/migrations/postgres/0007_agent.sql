-- 0007 agent (PostgreSQL): the customer-service agent's per-workspace settings, its conversations
-- and their messages, publishable widget keys, and per-day LLM usage. Times are Unix
-- milliseconds. Every table carries workspace_id, and every query filters by it.

-- The settings an owner changed; defaults (in the code) fill the rest, so a new default
-- reaches every workspace that did not override it.
CREATE TABLE agent_configs (
  workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  agent TEXT NOT NULL,
  config TEXT NOT NULL DEFAULT '{}',  -- JSON object of overridden settings
  updated_at_ms BIGINT NOT NULL,
  PRIMARY KEY (workspace_id, agent)
);

CREATE TABLE conversations (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  agent TEXT NOT NULL,
  channel TEXT NOT NULL,  -- api | widget | openai | cli
  user_id TEXT,           -- who started it (a person or key owner); NULL for the widget
  title TEXT NOT NULL DEFAULT '',
  -- Memory. Messages with seq <= summary_through are folded into summary; messages with
  -- seq < context_start belong to an earlier session (idle past the timeout) and are not sent.
  summary TEXT NOT NULL DEFAULT '',
  summary_through BIGINT NOT NULL DEFAULT 0,
  context_start BIGINT NOT NULL DEFAULT 1,
  message_count BIGINT NOT NULL DEFAULT 0,  -- also the seq of the last message
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL
);
CREATE INDEX conversations_by_workspace ON conversations (workspace_id, updated_at_ms DESC, id);

CREATE TABLE messages (
  id TEXT PRIMARY KEY,
  conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  workspace_id TEXT NOT NULL,
  seq BIGINT NOT NULL,       -- 1, 2, 3 … within the conversation
  role TEXT NOT NULL,         -- user | assistant
  content TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'complete',  -- complete | interrupted | failed
  sources TEXT NOT NULL DEFAULT '[]',       -- JSON array, assistant messages
  usage TEXT,                                -- JSON {promptTokens, completionTokens, …}
  confidence DOUBLE PRECISION,
  model TEXT,
  created_at_ms BIGINT NOT NULL,
  UNIQUE (conversation_id, seq)
);

-- Publishable keys of the embeddable widget. Not secrets (they sit in web pages, like Stripe's
-- pk_ keys), so stored in clear; what protects a workspace is that a widget key can only chat,
-- only from its allowed origins, under its own rate limits.
CREATE TABLE widget_keys (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  key TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL DEFAULT '',
  allowed_origins TEXT NOT NULL DEFAULT '[]',  -- JSON array of exact origins
  created_at_ms BIGINT NOT NULL,
  revoked_at_ms BIGINT
);
CREATE INDEX widget_keys_by_workspace ON widget_keys (workspace_id);

-- Agent usage per workspace and UTC day: messages answered, LLM calls and tokens.
CREATE TABLE agent_usage (
  workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  day TEXT NOT NULL,  -- YYYY-MM-DD (UTC)
  messages BIGINT NOT NULL DEFAULT 0,
  llm_calls BIGINT NOT NULL DEFAULT 0,
  tokens_in BIGINT NOT NULL DEFAULT 0,
  tokens_out BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (workspace_id, day)
);
