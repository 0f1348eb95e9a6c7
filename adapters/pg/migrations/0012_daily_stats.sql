-- 0012: daily statistics per day, platform and currency, a projection of order events
-- (adapters/pg/daily_stats_projection.cpp). Each order contributes to exactly one bucket, recorded
-- in order_stat_contributions; every order event moves the order's contribution from its old
-- bucket to its new one, so that a late cancellation restates the order's own day. Amounts of
-- different currencies are never added up: the currency is part of the bucket.
CREATE TABLE order_stat_contributions (
  order_id       text   PRIMARY KEY,
  stat_date      date   NOT NULL, -- the order's creation day (UTC)
  platform       text   NOT NULL, -- web, tiktok, shopee, lazada
  currency       text   NOT NULL,
  status         text   NOT NULL
    CHECK (status IN ('pending', 'completed', 'cancelled', 'returned')),
  gross_minor    bigint NOT NULL, -- merchandise at original prices
  discount_minor bigint NOT NULL, -- seller and platform discounts
  final_minor    bigint NOT NULL, -- what the buyer pays
  version        bigint NOT NULL  -- seq of the last order event applied
);

CREATE TABLE daily_stats (
  stat_date                     date   NOT NULL,
  platform                      text   NOT NULL,
  currency                      text   NOT NULL,
  total_orders                  bigint NOT NULL DEFAULT 0,
  completed_orders              bigint NOT NULL DEFAULT 0,
  cancelled_orders              bigint NOT NULL DEFAULT 0,
  returned_orders               bigint NOT NULL DEFAULT 0,
  pending_orders                bigint NOT NULL DEFAULT 0,
  gross_merchandise_value_minor bigint NOT NULL DEFAULT 0, -- orders neither cancelled nor returned
  total_revenue_minor           bigint NOT NULL DEFAULT 0, -- completed orders' final amounts
  total_discount_minor          bigint NOT NULL DEFAULT 0, -- orders neither cancelled nor returned
  PRIMARY KEY (stat_date, platform, currency)
);
