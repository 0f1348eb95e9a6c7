-- 0015: each member records, with its heartbeat, the view version its routers use, so that a
-- node leaving the cluster can wait until nobody routes to it any more before it stops.
ALTER TABLE cluster_heartbeats ADD COLUMN seen_version bigint NOT NULL DEFAULT 0;
