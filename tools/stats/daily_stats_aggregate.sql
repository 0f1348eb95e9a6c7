R"sql(-- The daily statistics of API.md aggregated from scratch over the orders' contributions
-- (table order_stat_contributions): one row per (stat_date, platform, currency) with the columns
-- of daily_stats, which the projection (adapters/pg/daily_stats_projection.cpp) keeps
-- incrementally and must always equal. Read by `tools/dev stats-check` and, #included as a C++
-- raw string (hence this file's first and last lines, which the script strips), by
-- tests/pg/daily_stats_projection_pgtest.cpp. One query, no semicolon: callers wrap it.
SELECT stat_date, platform, currency, count(*) AS total_orders,
  count(*) FILTER (WHERE status = 'completed') AS completed_orders,
  count(*) FILTER (WHERE status = 'cancelled') AS cancelled_orders,
  count(*) FILTER (WHERE status = 'returned') AS returned_orders,
  count(*) FILTER (WHERE status = 'pending') AS pending_orders,
  COALESCE(sum(gross_minor) FILTER (WHERE status IN ('pending', 'completed')), 0)
    AS gross_merchandise_value_minor,
  COALESCE(sum(final_minor) FILTER (WHERE status = 'completed'), 0) AS total_revenue_minor,
  COALESCE(sum(discount_minor) FILTER (WHERE status IN ('pending', 'completed')), 0)
    AS total_discount_minor
FROM order_stat_contributions
GROUP BY stat_date, platform, currency
)sql"
