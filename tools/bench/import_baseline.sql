-- The design Mercato's statistics replace, for `tools/bench/import.sh`: a sync job upserts
-- marketplace orders into an orders table whose trigger queues each touched (day, platform),
-- and an hourly job deletes and re-aggregates every queued day. Same columns and definitions as
-- Mercato's daily statistics (README "Daily statistics").
DROP TABLE IF EXISTS seed_orders, seed_stats_queue, seed_daily_stats CASCADE;

CREATE TABLE seed_orders (
  platform      text        NOT NULL,
  order_code    text        NOT NULL,
  order_day     date        NOT NULL, -- the creation day in the shop's time zone
  status        text        NOT NULL, -- pending, completed, cancelled, returned
  gross_minor   bigint      NOT NULL,
  discount_minor bigint     NOT NULL,
  final_minor   bigint      NOT NULL,
  updated_at    timestamptz NOT NULL,
  PRIMARY KEY (platform, order_code)
);
CREATE INDEX seed_orders_day_idx ON seed_orders (platform, order_day);

CREATE TABLE seed_stats_queue (
  stat_date date NOT NULL,
  platform  text NOT NULL,
  PRIMARY KEY (stat_date, platform)
);

CREATE TABLE seed_daily_stats (
  stat_date date NOT NULL,
  platform text NOT NULL,
  total_orders bigint NOT NULL,
  completed_orders bigint NOT NULL,
  cancelled_orders bigint NOT NULL,
  returned_orders bigint NOT NULL,
  pending_orders bigint NOT NULL,
  gross_merchandise_value_minor bigint NOT NULL,
  total_revenue_minor bigint NOT NULL,
  total_discount_minor bigint NOT NULL,
  PRIMARY KEY (stat_date, platform)
);

CREATE FUNCTION seed_queue_day() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO seed_stats_queue VALUES (NEW.order_day, NEW.platform) ON CONFLICT DO NOTHING;
  RETURN NEW;
END $$;
CREATE TRIGGER seed_orders_queue AFTER INSERT OR UPDATE ON seed_orders
  FOR EACH ROW EXECUTE FUNCTION seed_queue_day();

-- The hourly job: each queued day deleted and aggregated again from its orders.
CREATE FUNCTION seed_rebuild() RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  q record;
  n integer := 0;
BEGIN
  FOR q IN DELETE FROM seed_stats_queue RETURNING stat_date, platform LOOP
    DELETE FROM seed_daily_stats WHERE stat_date = q.stat_date AND platform = q.platform;
    INSERT INTO seed_daily_stats
    SELECT q.stat_date, q.platform, count(*),
      count(*) FILTER (WHERE status = 'completed'), count(*) FILTER (WHERE status = 'cancelled'),
      count(*) FILTER (WHERE status = 'returned'), count(*) FILTER (WHERE status = 'pending'),
      COALESCE(sum(gross_minor) FILTER (WHERE status IN ('pending', 'completed')), 0),
      COALESCE(sum(final_minor) FILTER (WHERE status = 'completed'), 0),
      COALESCE(sum(discount_minor) FILTER (WHERE status IN ('pending', 'completed')), 0)
    FROM seed_orders WHERE platform = q.platform AND order_day = q.stat_date
    HAVING count(*) > 0;
    n := n + 1;
  END LOOP;
  RETURN n;
END $$;
