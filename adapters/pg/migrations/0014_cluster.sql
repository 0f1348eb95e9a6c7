-- 0014: cluster membership and ownership, beside the journal that they fence (DESIGN.md
-- "Cluster"). Every time here is the database's clock, so nodes need not agree on theirs.

-- One row: the shard count, fixed when the first node creates the cluster, and the view
-- version, bumped by every change of membership or ownership so that nodes re-read cheaply.
CREATE TABLE cluster_settings (
  singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  shard_count  integer NOT NULL CHECK (shard_count BETWEEN 1 AND 65536),
  view_version bigint  NOT NULL DEFAULT 0
);

CREATE SEQUENCE cluster_incarnations;

-- A node process: each start is a new incarnation. Journal batches lock their own row FOR SHARE;
-- marking a member dead updates it, so a death waits for the batches in flight.
CREATE TABLE cluster_members (
  node_id          text        NOT NULL,
  incarnation      bigint      NOT NULL,
  http_address     text        NOT NULL,
  caf_host         text        NOT NULL,
  caf_port         integer     NOT NULL,
  protocol_version integer     NOT NULL,
  status           text        NOT NULL CHECK (status IN ('joining', 'up', 'left', 'dead')),
  joined_at        timestamptz NOT NULL DEFAULT now(),
  changed_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (node_id, incarnation)
);
CREATE INDEX cluster_members_live ON cluster_members (status) WHERE status IN ('joining', 'up');

-- Heartbeats live apart from members, so that renewing one never waits for a journal batch's
-- row lock on the member.
CREATE TABLE cluster_heartbeats (
  node_id     text        NOT NULL,
  incarnation bigint      NOT NULL,
  expires_at  timestamptz NOT NULL,
  PRIMARY KEY (node_id, incarnation),
  FOREIGN KEY (node_id, incarnation) REFERENCES cluster_members ON DELETE CASCADE
);

-- Who owns each shard now; every move is a compare-and-swap on epoch.
CREATE TABLE cluster_shards (
  shard       integer PRIMARY KEY,
  node_id     text,
  incarnation bigint,
  epoch       bigint  NOT NULL DEFAULT 0,
  CHECK ((node_id IS NULL) = (incarnation IS NULL))
);

-- Work that runs once per cluster (the delay sweeper, each webhook endpoint's publisher).
CREATE TABLE cluster_singletons (
  name        text   PRIMARY KEY,
  node_id     text,
  incarnation bigint,
  epoch       bigint NOT NULL DEFAULT 0,
  CHECK ((node_id IS NULL) = (incarnation IS NULL))
);
