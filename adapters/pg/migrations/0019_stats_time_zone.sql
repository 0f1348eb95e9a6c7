-- 0019: the shop's time zone, on whose days the daily statistics count orders (API.md: UTC unless
-- configured). One row at most; none means UTC, which is what every earlier bucket was counted in.
-- The node writes it at start from projections.stats_time_zone and rebuilds the statistics when
-- it changes.
CREATE TABLE stats_settings (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  time_zone text NOT NULL
);
