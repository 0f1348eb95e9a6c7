-- The database work Mercato's import design cannot do without, for `tools/bench/import.sh`: run
-- after Mercato's import, on copies of what it wrote. Per 1,000 orders, in one transaction: their
-- journal events appended (one row per event, as the entities wrote them), read back twice (the
-- two read models an imported order concerns: the orders list and the daily statistics), and the
-- rows of those read models upserted (orders, contributions, day buckets). No server, no HTTP,
-- no JSON decoding outside PostgreSQL, one statement per step: a floor under any implementation
-- that keeps an order entity per imported order and the statistics as a projection of its events.
DROP TABLE IF EXISTS floor_src, floor_journal, floor_orders, floor_contributions, floor_stats;
DROP PROCEDURE IF EXISTS floor_run;

CREATE TABLE floor_src AS
  SELECT row_number() OVER (ORDER BY tx, pos) AS n, entity_kind, entity_id, seq, event_type,
         payload, request_id, recorded_at, id, published
  FROM journal WHERE entity_kind = 'order';
CREATE INDEX ON floor_src (n);
CREATE TABLE floor_journal (LIKE journal INCLUDING ALL);
CREATE TABLE floor_orders (LIKE orders INCLUDING ALL);
CREATE TABLE floor_contributions (LIKE order_stat_contributions INCLUDING ALL);
CREATE TABLE floor_stats (LIKE daily_stats INCLUDING ALL);
ANALYZE floor_src;

CREATE PROCEDURE floor_run(chunk integer) LANGUAGE plpgsql AS $$
DECLARE
  total bigint := (SELECT count(*) FROM floor_src);
  first bigint := 1;
  ignored bigint;
BEGIN
  WHILE first <= total LOOP
    INSERT INTO floor_journal (entity_kind, entity_id, seq, event_type, payload, request_id,
                               recorded_at, id, published)
      SELECT entity_kind, entity_id, seq, event_type, payload, request_id, recorded_at, id,
             published
      FROM floor_src WHERE n BETWEEN first AND first + chunk - 1 ORDER BY n;
    -- Read back as the two read models read them: their payloads, as text, along the position
    -- index (this transaction's rows are the chunk).
    SELECT sum(length(payload::text)) INTO ignored FROM floor_journal WHERE tx = pg_current_xact_id();
    SELECT sum(length(payload::text)) INTO ignored FROM floor_journal WHERE tx = pg_current_xact_id();
    INSERT INTO floor_orders
      SELECT o.* FROM orders o
      WHERE o.order_id IN (SELECT entity_id FROM floor_journal WHERE tx = pg_current_xact_id())
      ON CONFLICT (order_id) DO UPDATE SET status = EXCLUDED.status, version = EXCLUDED.version;
    INSERT INTO floor_contributions
      SELECT c.* FROM order_stat_contributions c
      WHERE c.order_id IN (SELECT entity_id FROM floor_journal WHERE tx = pg_current_xact_id())
      ON CONFLICT (order_id) DO UPDATE SET status = EXCLUDED.status, version = EXCLUDED.version;
    INSERT INTO floor_stats (stat_date, platform, currency, total_orders)
      SELECT c.stat_date, c.platform, c.currency, count(*) FROM order_stat_contributions c
      WHERE c.order_id IN (SELECT entity_id FROM floor_journal WHERE tx = pg_current_xact_id())
      GROUP BY 1, 2, 3
      ON CONFLICT (stat_date, platform, currency)
      DO UPDATE SET total_orders = floor_stats.total_orders + EXCLUDED.total_orders;
    COMMIT;
    first := first + chunk;
  END LOOP;
END $$;
