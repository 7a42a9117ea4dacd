-- 0008 keyword index (SQLite): keyword search moves to an in-memory index per workspace, built
-- from chunks.text (search/index/keyword_index.hpp), so the FTS5 table and the triggers that kept
-- it in step with chunks go; ingestion no longer writes every chunk's words twice.
DROP TRIGGER IF EXISTS chunks_fts_insert;
DROP TRIGGER IF EXISTS chunks_fts_delete;
DROP TABLE IF EXISTS chunks_fts;
