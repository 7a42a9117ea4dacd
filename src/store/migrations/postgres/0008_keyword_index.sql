-- 0008 keyword index (PostgreSQL): nothing changes here; PostgreSQL keeps ranking keyword searches
-- itself (chunks.tsv and its GIN index, 0005). The SQLite migration of the same number moves
-- SQLite's keyword search into memory; both backends carry every migration number.
SELECT 1;
