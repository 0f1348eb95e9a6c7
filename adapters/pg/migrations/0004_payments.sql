-- 0004: payments and their audit trail (adapters/payments).

-- One row per payment id (the checkout's id): its current status at the provider. A row is
-- written before the provider is asked, so that every id the provider knows is known here too.
CREATE TABLE payments (
  payment_id   text        PRIMARY KEY,
  provider     text        NOT NULL,
  provider_ref text        NOT NULL DEFAULT '',
  status       text        NOT NULL CHECK (status IN
                 ('pending', 'authorized', 'declined', 'captured', 'voided', 'refunded')),
  amount_minor bigint      NOT NULL CHECK (amount_minor >= 0),
  currency     text        NOT NULL DEFAULT '',
  customer_id  text        NOT NULL DEFAULT '',
  detail       text        NOT NULL DEFAULT '',
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Every command and provider report, in the transaction of the change it caused (or not:
-- `changed` is false for repeats and late reports). `event_id` is the provider's webhook event
-- id: its unique index deduplicates deliveries.
CREATE TABLE payment_events (
  id          bigserial   PRIMARY KEY,
  payment_id  text        NOT NULL,
  event_id    text,
  source      text        NOT NULL CHECK (source IN ('command', 'provider', 'webhook')),
  event       text        NOT NULL,
  from_status text,
  to_status   text        NOT NULL,
  changed     boolean     NOT NULL,
  detail      text        NOT NULL DEFAULT '',
  request_id  text        NOT NULL DEFAULT '',
  recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX payment_events_event_id_idx ON payment_events (event_id)
  WHERE event_id IS NOT NULL;
CREATE INDEX payment_events_payment_idx ON payment_events (payment_id, id);
