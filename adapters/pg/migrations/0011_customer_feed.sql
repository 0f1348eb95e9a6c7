-- 0011: a customer's feed (the customer:{id} WebSocket topic) becomes a projection of order
-- events (adapters/pg/customer_feed_projection.cpp) instead of a journaled entity: the order's
-- own events already say everything the feed says. It has no offset yet, so its runner builds
-- it from the whole journal once. The journal's old `customer` rows stay as history; nothing
-- reads them any more.

-- One row per change of any of a customer's orders, numbered per customer in commit order
-- without gaps (the topic's seq).
CREATE TABLE customer_feed (
  customer_id text   NOT NULL,
  seq         bigint NOT NULL CHECK (seq > 0),
  order_id    text   NOT NULL,
  order_seq   bigint NOT NULL, -- the order's version after the change
  change      text   NOT NULL, -- the order event's type
  status      text   NOT NULL, -- the order's status after it
  fact_type   text   NOT NULL DEFAULT '',
  at_ms       bigint NOT NULL,
  PRIMARY KEY (customer_id, seq)
);

-- Each order as its customer's feed last saw it: whose it is (only `placed` says so), and the
-- rows of a snapshot.
CREATE TABLE customer_feed_orders (
  order_id      text   PRIMARY KEY,
  customer_id   text   NOT NULL,
  status        text   NOT NULL,
  order_seq     bigint NOT NULL,
  updated_at_ms bigint NOT NULL,
  feed_seq      bigint NOT NULL -- the feed row of its last change
);
CREATE INDEX customer_feed_orders_newest ON customer_feed_orders (customer_id, feed_seq DESC);
