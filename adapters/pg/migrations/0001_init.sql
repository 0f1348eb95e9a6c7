-- 0001: journal, snapshots, outbox, catalogue.

-- Append-only event journal. The primary key is the single-writer fence: two writers that both
-- believe they own an entity cannot both append the same seq.
CREATE TABLE journal (
  entity_kind text        NOT NULL,
  entity_id   text        NOT NULL,
  seq         bigint      NOT NULL CHECK (seq > 0),
  event_type  text        NOT NULL,
  payload     jsonb       NOT NULL,
  request_id  text,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (entity_kind, entity_id, seq)
);

-- Latest snapshot per entity; only ever replaced by a newer seq.
CREATE TABLE snapshots (
  entity_kind text        NOT NULL,
  entity_id   text        NOT NULL,
  seq         bigint      NOT NULL CHECK (seq > 0),
  state       jsonb       NOT NULL,
  taken_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (entity_kind, entity_id)
);

-- Transactional outbox in the column layout of Debezium's outbox event router
-- (id, aggregatetype, aggregateid, type, payload), written in the journal's transaction.
-- `payload` is the event itself; seq and request_id are extra columns that the router can
-- place into headers. The journal writer supplies time-ordered (version 7) ids, so the primary
-- key grows at its right edge instead of at random. No other index: nothing reads by time yet.
CREATE TABLE outbox (
  id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  aggregatetype text        NOT NULL,
  aggregateid   text        NOT NULL,
  type          text        NOT NULL,
  payload       jsonb       NOT NULL,
  seq           bigint,
  request_id    text,
  created_at    timestamptz NOT NULL DEFAULT now()
);

-- Catalogue. `search` is maintained by PostgreSQL; the 'simple' configuration does no stemming,
-- so it works the same for every language and for SKU-like tokens.
CREATE TABLE products (
  sku         text        PRIMARY KEY,
  name        text        NOT NULL,
  description text        NOT NULL DEFAULT '',
  category    text        NOT NULL DEFAULT '',
  seller_id   text        NOT NULL DEFAULT '',
  price_minor bigint      NOT NULL CHECK (price_minor >= 0),
  currency    char(3)     NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  version     bigint      NOT NULL DEFAULT 1,
  search      tsvector GENERATED ALWAYS AS (
                setweight(to_tsvector('simple', name), 'A')
                || setweight(to_tsvector('simple', sku), 'A')
                || setweight(to_tsvector('simple', description), 'B')
                || setweight(to_tsvector('simple', category), 'C')
              ) STORED
);
CREATE INDEX products_search_idx ON products USING gin (search);
CREATE INDEX products_category_sku_idx ON products (category, sku);
