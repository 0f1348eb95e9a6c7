-- 0020: the in-app inbox is pushed on the customer:{id} topic. Each in-app notification the
-- notifications feeder plans becomes a row of the customer's feed too, numbered in the same
-- gapless sequence as their order changes (both writers take the customer's advisory lock before
-- numbering: adapters/pg/customer_feed.hpp), so that a subscriber and a replay with last_seq see
-- messages and order changes interleaved as they were committed. Such a row names its
-- notification; its change is 'notification'.
ALTER TABLE customer_feed ADD COLUMN notification_id bigint;
CREATE INDEX customer_feed_inbox ON customer_feed (customer_id, seq DESC)
  WHERE notification_id IS NOT NULL;
