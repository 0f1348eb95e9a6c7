-- 0023: journal payloads too long to stay inline (imported orders with many lines, above about
-- 2 kB) are compressed with LZ4 instead of pglz. Every projection decompresses each event it
-- reads, and LZ4 decompresses several times faster for a similar size. Rows written before keep
-- their pglz form: both read back the same. A server built without LZ4 keeps pglz.
DO $$
BEGIN
  ALTER TABLE journal ALTER COLUMN payload SET COMPRESSION lz4,
                      ALTER COLUMN published SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
  RAISE NOTICE 'this PostgreSQL has no LZ4: journal payloads stay pglz';
END
$$;
