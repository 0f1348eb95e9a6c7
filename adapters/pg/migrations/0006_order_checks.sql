-- 0006: delay detection. `next_check_ms` is when an order next needs a delay check (epoch ms;
-- 0 = none), as stamped into its newest event by the order itself. An order's own timer dies
-- when the order is passivated: the delay sweeper (adapters/pg/delay_sweeper.cpp) reads this
-- column to wake the orders whose check fell due.
ALTER TABLE orders ADD COLUMN next_check_ms bigint NOT NULL DEFAULT 0;

-- Orders placed before delay detection carry no schedule: wake each unfinished one once, and it
-- stamps its own (a checks_rescheduled event).
UPDATE orders SET next_check_ms = 1
  WHERE status NOT IN ('delivered', 'cancelled', 'returned', 'refunded');

-- Only orders with a check pending are indexed: most orders end up delivered, with none.
CREATE INDEX orders_next_check_idx ON orders (next_check_ms, order_id) WHERE next_check_ms > 0;
