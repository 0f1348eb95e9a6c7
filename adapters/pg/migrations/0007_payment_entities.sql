-- 0007: payments are journaled entities (actors/payment/). The journal is their audit trail
-- (rows of kind 'payment'), and `payments` is their read model, projected by the journal's
-- batch statement in the transaction of the append (adapters/pg/journal.cpp); `version` is the
-- seq of the last payment event projected. `payment_events` is no longer written: it keeps the
-- history recorded before this migration.
ALTER TABLE payments ADD COLUMN version bigint NOT NULL DEFAULT 0;

-- Payments recorded before: one `imported` event each, carrying the webhook event ids they had
-- seen, so that their entities recover them and go on deduplicating.
INSERT INTO journal (entity_kind, entity_id, seq, event_type, payload)
SELECT 'payment', p.payment_id, 1, 'imported', jsonb_build_object(
    'type', 'imported', 'status', p.status, 'amount_minor', p.amount_minor,
    'currency', p.currency, 'provider', p.provider, 'provider_ref', p.provider_ref,
    'detail', p.detail, 'customer_id', p.customer_id, 'source', 'command', 'event_id', '',
    'changed', true,
    'seen_events', COALESCE((SELECT jsonb_agg(e.event_id ORDER BY e.id) FROM payment_events e
                             WHERE e.payment_id = p.payment_id AND e.event_id IS NOT NULL),
                            '[]'::jsonb),
    'request_id', '', 'at_ms', (extract(epoch FROM p.updated_at) * 1000)::bigint)
  FROM payments p
  ON CONFLICT DO NOTHING;
UPDATE payments SET version = 1;
