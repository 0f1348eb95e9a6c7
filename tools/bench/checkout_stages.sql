-- Where a checkout's time goes, from the saga's own record: the median and mean of each stage,
-- in ms, over the checkouts completed after :since (ms since the epoch). `completed` carries the
-- saga's steps with the time each ended. Stages: start+reserve (cart claim, then `started`, 3
-- holds and the claim durable in one group commit), authorize (the payment entity), place (the
-- order durable; the answer goes out), and settle (after the answer: holds sold, capture).
-- One JSON line.
WITH done AS (
  SELECT entity_id, (payload->>'at_ms')::bigint AS completed_at,
         (SELECT (s->>'at_ms')::bigint FROM jsonb_array_elements(payload->'steps') s
           WHERE s->>'name' = 'reserve_stock') AS reserved_at,
         (SELECT (s->>'at_ms')::bigint FROM jsonb_array_elements(payload->'steps') s
           WHERE s->>'name' = 'authorize_payment') AS authorized_at,
         (SELECT (s->>'at_ms')::bigint FROM jsonb_array_elements(payload->'steps') s
           WHERE s->>'name' = 'place_order') AS ordered_at
  FROM journal
  WHERE entity_kind = 'checkout' AND event_type = 'completed'
    AND (payload->>'at_ms')::bigint > :since
), stages AS (
  SELECT d.*, (st.payload->>'at_ms')::bigint AS started_at
  FROM done d
  JOIN journal st ON st.entity_kind = 'checkout' AND st.entity_id = d.entity_id
                 AND st.event_type = 'started'
)
SELECT json_build_object(
  'label', 'stages', 'checkouts', count(*),
  'start_reserve_p50_ms', percentile_cont(0.5) WITHIN GROUP (ORDER BY reserved_at - started_at),
  'authorize_p50_ms', percentile_cont(0.5) WITHIN GROUP (ORDER BY authorized_at - reserved_at),
  'place_p50_ms', percentile_cont(0.5) WITHIN GROUP (ORDER BY ordered_at - authorized_at),
  'settle_p50_ms', percentile_cont(0.5) WITHIN GROUP (ORDER BY completed_at - ordered_at),
  'start_reserve_avg_ms', round(avg(reserved_at - started_at), 1),
  'authorize_avg_ms', round(avg(authorized_at - reserved_at), 1),
  'place_avg_ms', round(avg(ordered_at - authorized_at), 1),
  'settle_avg_ms', round(avg(completed_at - ordered_at), 1))
FROM stages;
