-- 0008: the checkouts a restarted node must wake (started or order placed, not yet completed or
-- failed), as a read model the journal's batch statement keeps (adapters/pg/journal.cpp): a
-- `started` adds the checkout, `completed` or `failed` removes it. Before, every start found them
-- by reading every checkout's newest journal row, which grows with the whole history.
CREATE TABLE checkouts_open (
  checkout_id text        PRIMARY KEY,
  since       timestamptz NOT NULL DEFAULT now()
);

-- Rebuilt from the journal once; from now on kept by the journal.
INSERT INTO checkouts_open (checkout_id)
SELECT entity_id FROM (
    SELECT DISTINCT ON (entity_id) entity_id, event_type FROM journal
    WHERE entity_kind = 'checkout' ORDER BY entity_id, seq DESC) newest
  WHERE event_type IN ('started', 'order_placed');
