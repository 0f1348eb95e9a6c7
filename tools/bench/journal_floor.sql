-- One group commit of :batch appends the way the journal writes them (a journal row and its
-- outbox row each, in one statement), minus what the journal adds on top: the arrays sent over
-- the wire, the gap check and the read-model projections. Run by tools/bench/journal_floor.sh.
WITH ev AS (
  SELECT 'stock'::text AS entity_kind,
         'floor-' || txid_current() || '-' || g AS entity_id,
         1::bigint AS seq,
         'reserved'::text AS event_type,
         jsonb_build_object('qty', 1, 'at_ms', 1795315706984 + g, 'expires_at_ms', 1795316606984 + g,
                            'reservation_id', 'co_' || md5(txid_current() || '-' || g)) AS payload,
         'req-' || txid_current() AS request_id,
         (lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || '7'
          || substr(md5(txid_current() || '/' || g), 1, 19))::uuid AS outbox_id
  FROM generate_series(1, :batch) g),
ins AS (
  INSERT INTO journal (entity_kind, entity_id, seq, event_type, payload, request_id)
  SELECT entity_kind, entity_id, seq, event_type, payload, request_id FROM ev
  ON CONFLICT DO NOTHING RETURNING entity_kind, entity_id, seq),
ob AS (
  INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, seq, request_id)
  SELECT e.outbox_id, e.entity_kind, e.entity_id, e.event_type, e.payload, e.seq, e.request_id
  FROM ev e JOIN ins i USING (entity_kind, entity_id, seq))
SELECT count(*) FROM ins;
