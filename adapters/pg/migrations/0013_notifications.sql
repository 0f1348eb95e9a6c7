-- 0013: notifications. A customer's preferences; the orders the notification feeder has seen;
-- one delivery per (order, milestone, channel), inserted by the feeder in the transaction that
-- moves its journal offset, so that a replay never notifies twice; and the log of every attempt
-- to hand a delivery to a channel.
CREATE TABLE notification_preferences (
  customer_id     text        PRIMARY KEY,
  in_app          boolean     NOT NULL,
  email_enabled   boolean     NOT NULL,
  sms_enabled     boolean     NOT NULL,
  push_enabled    boolean     NOT NULL,
  -- Per-kind overrides: kinds[i] takes the channels of masks[i] (1 in_app, 2 email, 4 sms, 8 push).
  kinds           text[]      NOT NULL DEFAULT '{}',
  kind_masks      smallint[]  NOT NULL DEFAULT '{}',
  email           text        NOT NULL DEFAULT '',
  phone           text        NOT NULL DEFAULT '',
  locale          text        NOT NULL DEFAULT 'en',
  quiet_enabled   boolean     NOT NULL DEFAULT false,
  quiet_start_min integer     NOT NULL DEFAULT 0 CHECK (quiet_start_min BETWEEN 0 AND 1439),
  quiet_end_min   integer     NOT NULL DEFAULT 0 CHECK (quiet_end_min BETWEEN 0 AND 1439),
  time_zone       text        NOT NULL DEFAULT 'UTC',
  version         bigint      NOT NULL DEFAULT 1,
  updated_at      timestamptz NOT NULL DEFAULT now(),
  CHECK (cardinality(kinds) = cardinality(kind_masks))
);

-- What later events of an order need to address its customer (only `placed` names them).
CREATE TABLE notification_orders (
  order_id    text   PRIMARY KEY,
  customer_id text   NOT NULL,
  email       text   NOT NULL DEFAULT '', -- the checkout's address, used when preferences name none
  total_minor bigint NOT NULL DEFAULT 0,
  currency    text   NOT NULL DEFAULT ''
);

CREATE TABLE notifications (
  id               bigserial   PRIMARY KEY,
  delivery_key     text        NOT NULL UNIQUE, -- order_id '/' milestone '/' channel
  customer_id      text        NOT NULL,
  order_id         text        NOT NULL,
  kind             text        NOT NULL,
  milestone        text        NOT NULL,
  channel          text        NOT NULL CHECK (channel IN ('in_app', 'email', 'sms', 'push')),
  status           text        NOT NULL CHECK (status IN ('pending', 'delivered', 'failed', 'dead')),
  priority         text        NOT NULL DEFAULT 'normal' CHECK (priority IN ('normal', 'urgent')),
  address          text        NOT NULL DEFAULT '', -- email address or phone, as planned
  locale           text        NOT NULL,
  template_id      text        NOT NULL,
  template_version integer     NOT NULL,
  render_note      text        NOT NULL DEFAULT '', -- why a fallback locale or text was used
  subject          text        NOT NULL,
  body             text        NOT NULL,
  attempts         integer     NOT NULL DEFAULT 0,
  last_error       text        NOT NULL DEFAULT '',
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  event_recorded_at timestamptz NOT NULL, -- when the order event became durable
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  delivered_at     timestamptz
);
CREATE INDEX notifications_by_customer ON notifications (customer_id, id DESC);
CREATE INDEX notifications_by_status ON notifications (status, id DESC);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'pending';

-- Every attempt to hand a delivery to its channel, with the idempotency key the provider saw
-- (the same for every attempt of one delivery, so that a provider can drop a repeat).
CREATE TABLE notification_attempts (
  id              bigserial   PRIMARY KEY,
  notification_id bigint      NOT NULL REFERENCES notifications (id),
  attempt         integer     NOT NULL,
  channel         text        NOT NULL,
  outcome         text        NOT NULL CHECK (outcome IN ('accepted', 'failed', 'unknown')),
  detail          text        NOT NULL DEFAULT '',
  idempotency_key text        NOT NULL,
  started_at      timestamptz NOT NULL,
  finished_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notification_attempts_by_notification ON notification_attempts (notification_id, id);

-- The feeder starts at the journal's head: orders that existed before notifications were
-- deployed are not told of their past.
INSERT INTO projection_offsets (name, last_tx, last_pos)
SELECT 'notifications', COALESCE(h.tx, '0'), COALESCE(h.pos, 0)
  FROM (SELECT 1) AS one
  LEFT JOIN (SELECT tx, pos FROM journal ORDER BY tx DESC, pos DESC LIMIT 1) h ON true;
