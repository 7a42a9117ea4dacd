-- 0005 documents (PostgreSQL): the knowledge base. A document is one uploaded or submitted source;
-- each ingestion of it is a version; a version's text is cut into chunks, each with its embedding
-- (so vector indexes can be rebuilt from the database) and a tsvector for keyword search.
-- Times are Unix milliseconds.

CREATE TABLE documents (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  title TEXT NOT NULL,
  url TEXT,
  -- The client's own id for the source (or its url): re-ingesting it replaces the chunks.
  external_id TEXT,
  filename TEXT,          -- as the client named it; display only, never a path
  format TEXT,            -- pdf | docx | html | markdown | text, once detected
  size_bytes BIGINT NOT NULL DEFAULT 0,
  -- SHA-256 of the source bytes: an identical document in a workspace is stored once.
  content_hash TEXT NOT NULL,
  -- Bumped by every (re)ingestion; chunks of older versions are replaced when a version is ready.
  version INTEGER NOT NULL DEFAULT 1,
  status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'processing', 'ready', 'failed')),
  error TEXT,
  error_code TEXT,
  metadata TEXT NOT NULL DEFAULT '{}',   -- the client's JSON object (tags live in metadata.tags)
  extracted TEXT NOT NULL DEFAULT '{}',  -- author, dates, language, page count found in the file
  chunking TEXT NOT NULL DEFAULT '{}',   -- strategy and sizes this version was cut with
  chunk_count INTEGER NOT NULL DEFAULT 0,
  token_count BIGINT NOT NULL DEFAULT 0,
  job_id TEXT,
  created_at_ms BIGINT NOT NULL,
  updated_at_ms BIGINT NOT NULL,
  indexed_at_ms BIGINT
);
CREATE UNIQUE INDEX documents_content ON documents (workspace_id, content_hash);
CREATE UNIQUE INDEX documents_external ON documents (workspace_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX documents_list ON documents (workspace_id, created_at_ms, id);

-- The source as received (base64 text, so both backends store it alike), stored with the
-- document in one transaction: a worker on any machine can (re)ingest it, and reindexing needs
-- no re-upload. One row per document: a new version replaces it.
CREATE TABLE document_sources (
  document_id TEXT PRIMARY KEY REFERENCES documents (id) ON DELETE CASCADE,
  workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  version INTEGER NOT NULL,
  content_type TEXT,
  content TEXT NOT NULL
);

-- id is the label of the chunk's vector in the workspace's index: an ever-growing integer, so an
-- index saved at chunk id N catches up by reading the chunks after N.
CREATE TABLE chunks (
  id BIGSERIAL PRIMARY KEY,
  workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  document_id TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
  version INTEGER NOT NULL,
  ordinal INTEGER NOT NULL,
  text TEXT NOT NULL,
  heading_path TEXT NOT NULL DEFAULT '',
  page_start INTEGER NOT NULL DEFAULT 0,
  page_end INTEGER NOT NULL DEFAULT 0,
  char_begin BIGINT NOT NULL,
  char_end BIGINT NOT NULL,
  token_count INTEGER NOT NULL,
  embedding TEXT,  -- base64 of float32 little-endian components; NULL until embedded
  embedding_model TEXT,  -- "embedder/model/dimension" that produced it: a change re-embeds
  created_at_ms BIGINT NOT NULL,
  tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED,
  -- A re-run of the same ingestion writes nothing twice.
  UNIQUE (document_id, version, ordinal)
);
CREATE INDEX chunks_workspace ON chunks (workspace_id, id);
CREATE INDEX chunks_tsv ON chunks USING gin (tsv);
