-- 0005: how far the outbox publisher has delivered the outbox to each webhook endpoint.
--
-- One row per endpoint URL: `last_id` is the last outbox row that endpoint got (a 2xx) or that
-- was dead-lettered for it. The publisher reads `id > last_id ORDER BY id`, so the cursor alone
-- makes delivery survive restarts; it is written before the next row is sent, so a crash
-- re-sends at most the one row in flight. The nil uuid means "from the start of the outbox".
CREATE TABLE outbox_delivery (
  endpoint   text        PRIMARY KEY,
  last_id    uuid        NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000',
  delivered  bigint      NOT NULL DEFAULT 0 CHECK (delivered >= 0),
  dead       bigint      NOT NULL DEFAULT 0 CHECK (dead >= 0),
  updated_at timestamptz NOT NULL DEFAULT now()
);
