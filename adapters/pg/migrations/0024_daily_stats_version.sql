-- 0024: a version of the daily statistics, so that a reader holding rows can ask "still the
-- same?" with one single-row read instead of reading them all again (adapters/pg/stats_store.cpp).
-- Every statement that writes daily_stats bumps it in its own transaction, whoever runs it: the
-- projection's rounds, a rebuild, a change of the shop's time zone, or a hand-written fix.
CREATE TABLE daily_stats_version (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  n        bigint  NOT NULL
);
INSERT INTO daily_stats_version (n) VALUES (0);

CREATE FUNCTION bump_daily_stats_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE daily_stats_version SET n = n + 1;
  RETURN NULL;
END
$$;

CREATE TRIGGER daily_stats_version
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON daily_stats
  FOR EACH STATEMENT EXECUTE FUNCTION bump_daily_stats_version();
