-- The conventional checkout: one transaction that reserves one unit of each of 3 distinct SKUs
-- with a conditional UPDATE, inserts the order, its 3 lines and 1 outbox row, and commits.
-- pgbench defines :nskus (-D nskus=N, at least 4) and :hot (-D hot=0 or 1). With hot=1 every
-- checkout holds SKU 1, the hot one, and two others from 2..nskus (one from each half), the mix
-- of mercato-bench's `--mix hot`. The SKUs are locked in ascending order, as an application must
-- to avoid deadlocks between two checkouts that share two SKUs (so the hot row first).
\if :hot
\set a 1
\else
\set a random(1, :nskus)
\endif
\set d2 random(1, :nskus / 2 - 1)
\set d3 random(:nskus / 2, :nskus - 1)
\set b 1 + (:a - 1 + :d2) % :nskus
\set c 1 + (:a - 1 + :d3) % :nskus
\set s1 least(:a, :b, :c)
\set s3 greatest(:a, :b, :c)
\set s2 :a + :b + :c - :s1 - :s3
\set customer random(1, 1000)
BEGIN;
UPDATE inventory SET reserved = reserved + 1 WHERE sku = :s1 AND on_hand - reserved >= 1;
UPDATE inventory SET reserved = reserved + 1 WHERE sku = :s2 AND on_hand - reserved >= 1;
UPDATE inventory SET reserved = reserved + 1 WHERE sku = :s3 AND on_hand - reserved >= 1;
INSERT INTO orders (customer, total) VALUES (:customer, 3000) RETURNING id AS order_id \gset
INSERT INTO order_lines (order_id, sku, qty, price) VALUES (:order_id, :s1, 1, 1000);
INSERT INTO order_lines (order_id, sku, qty, price) VALUES (:order_id, :s2, 1, 1000);
INSERT INTO order_lines (order_id, sku, qty, price) VALUES (:order_id, :s3, 1, 1000);
INSERT INTO outbox (aggregate, type, payload)
  VALUES ('order', 'order_placed',
          jsonb_build_object('order_id', :order_id::bigint, 'customer', :customer::bigint,
                             'total', 3000,
                             'skus', jsonb_build_array(:s1::bigint, :s2::bigint, :s3::bigint)));
COMMIT;
