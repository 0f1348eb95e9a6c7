-- 0010: the read models (orders, payments, checkouts_open) leave the journal's statement and
-- become projections: each reads the journal in commit position order (migration 0009) and
-- applies what it reads in a transaction that also moves its offset here, so that every event
-- takes effect exactly once (adapters/pg/projection_runner.cpp).
CREATE TABLE projection_offsets (
  name       text        PRIMARY KEY,
  last_tx    xid8        NOT NULL DEFAULT '0',
  last_pos   bigint      NOT NULL DEFAULT 0,
  applied    bigint      NOT NULL DEFAULT 0 CHECK (applied >= 0), -- events applied so far
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Until now the journal's statement kept the read models in step with every append: each
-- projection goes on after the newest row written so far.
INSERT INTO projection_offsets (name, last_tx, last_pos)
SELECT n, COALESCE(h.tx, '0'), COALESCE(h.pos, 0)
  FROM unnest(ARRAY['orders', 'payments', 'checkouts_open']) AS n
  LEFT JOIN (SELECT tx, pos FROM journal ORDER BY tx DESC, pos DESC LIMIT 1) h ON true;
