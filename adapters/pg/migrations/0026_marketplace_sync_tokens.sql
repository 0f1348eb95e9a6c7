-- 0026: the pull sync's own OAuth tokens (adapters/marketplaces/pull_sync.cpp), for shops whose
-- shops-file entry has a refresh_token. The platforms rotate refresh tokens on every refresh and
-- the old one stops working, so the pair in use must outlive the process: it is written here
-- before it is first used. token_seed is the hex SHA-256 of the configured refresh_token the
-- pair descends from: when the operator re-authorises a shop and configures a new one, the seeds
-- differ and the configured pair wins. None of these columns is ever shown by the API.
ALTER TABLE marketplace_sync_cursors
  ADD COLUMN access_token     text,
  ADD COLUMN refresh_token    text,
  ADD COLUMN token_expires_at bigint,  -- unix s: when access_token expires
  ADD COLUMN token_seed       text;
