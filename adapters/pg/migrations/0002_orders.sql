-- 0002: the orders read model behind GET /v1/orders. The journal's batch statement projects
-- every order event into it in the same transaction (adapters/pg/journal.cpp), so a list never
-- lags the orders it lists. It holds nothing that the journal does not: rebuilding it is
-- replaying the order events.
CREATE TABLE orders (
  order_id    text        PRIMARY KEY,
  customer_id text        NOT NULL,
  status      text        NOT NULL,
  total_minor bigint      NOT NULL,
  currency    char(3)     NOT NULL,
  lines       integer     NOT NULL,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL,
  version     bigint      NOT NULL, -- seq of the last order event projected
  placed_ms   bigint      NOT NULL  -- created_at in epoch ms: an exact key for page cursors
);
-- Newest first, per customer (a customer's list) and overall (an admin's).
CREATE INDEX orders_customer_placed_idx ON orders (customer_id, placed_ms DESC, order_id DESC);
CREATE INDEX orders_placed_idx ON orders (placed_ms DESC, order_id DESC);
