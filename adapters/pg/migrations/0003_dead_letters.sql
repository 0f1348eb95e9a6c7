-- 0003: dead letters, what could not be delivered or processed after its retries were spent
-- (outbox webhook deliveries, notifications, messages), kept for operators to read and retry.

CREATE TABLE dead_letters (
  id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
  kind            text        NOT NULL CHECK (kind IN ('webhook', 'notification', 'message')),
  target          text        NOT NULL,  -- URL, address or actor it was meant for
  aggregate_type  text,                  -- the entity it is about (outbox aggregatetype)
  aggregate_id    text,
  event_id        text,                  -- the outbox row or event it carried
  payload         jsonb       NOT NULL DEFAULT '{}'::jsonb,
  last_error      text        NOT NULL DEFAULT '',
  attempts        int         NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  first_failed_at timestamptz NOT NULL DEFAULT now(),
  dead_at         timestamptz NOT NULL DEFAULT now()
);

-- The admin list reads newest first, optionally of one kind, with a keyset cursor (dead_at, id).
CREATE INDEX dead_letters_dead_at_idx ON dead_letters (dead_at DESC, id DESC);
CREATE INDEX dead_letters_kind_dead_at_idx ON dead_letters (kind, dead_at DESC, id DESC);
