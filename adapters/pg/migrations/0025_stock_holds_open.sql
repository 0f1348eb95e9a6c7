-- 0025: the holds a node must wake (adapters/pg/stock_holds_projection.cpp): a hold's timer lives
-- in its stock item's actor, so after a crash or a takeover the item's new owner wakes every item
-- with an open hold; its recovery re-arms the timers and expires the overdue holds at once.
-- Without an offset row the projection starts at the journal's beginning and replays every
-- stock event, so holds taken before this migration are found too.
CREATE TABLE stock_holds_open (
  sku            text        NOT NULL,
  reservation_id text        NOT NULL,
  expires_at     timestamptz NOT NULL,
  PRIMARY KEY (sku, reservation_id)
);
