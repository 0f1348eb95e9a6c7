-- One group commit of :batch appends the way the journal writes them (one row each, the journal
-- being the outbox: the stock event's payload and its public form, a time-ordered id, the commit
-- position by default), minus what the journal adds on top: the arrays sent over the wire and the
-- gap check. Run by tools/bench/journal_floor.sh.
WITH ev AS (
  SELECT 'stock'::text AS entity_kind,
         'floor-' || txid_current() || '-' || g AS entity_id,
         1::bigint AS seq,
         'reserved'::text AS event_type,
         jsonb_build_object('qty', 1, 'at_ms', 1795315706984 + g, 'expires_at_ms', 1795316606984 + g,
                            'reservation_id', 'co_' || md5(txid_current() || '-' || g)) AS payload,
         'req-' || txid_current() AS request_id,
         (lpad(to_hex((extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') || '7'
          || substr(md5(txid_current() || '/' || g), 1, 19))::uuid AS id
  FROM generate_series(1, :batch) g),
ins AS (
  INSERT INTO journal (id, entity_kind, entity_id, seq, event_type, payload, published, request_id)
  SELECT id, entity_kind, entity_id, seq, event_type, payload, payload, request_id FROM ev
  ON CONFLICT DO NOTHING RETURNING entity_kind, entity_id, seq)
SELECT count(*) FROM ins;
