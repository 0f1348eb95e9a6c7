-- 0015: what a node leaving the cluster needs so that no request fails as it goes. Each member
-- records, with its heartbeat, the view version its routers use, so that the leaving node can
-- wait until nobody routes to it any more before it stops; and a member that is leaving is
-- marked, so that nobody hands it shards while it hands its own over.
ALTER TABLE cluster_heartbeats ADD COLUMN seen_version bigint NOT NULL DEFAULT 0;
ALTER TABLE cluster_members ADD COLUMN leaving boolean NOT NULL DEFAULT false;
