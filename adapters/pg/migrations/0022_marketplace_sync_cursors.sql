-- 0022: the pull sync's durable cursor, one row per marketplace shop
-- (adapters/marketplaces/pull_sync.cpp). A sync pages through the orders updated in
-- [synced_to, window_to); after each page is imported the row records where the next page
-- starts, so that a restart resumes at that page; a finished window moves synced_to up to it.
CREATE TABLE marketplace_sync_cursors (
  shop       text        PRIMARY KEY,
  platform   text        NOT NULL,
  synced_to  bigint      NOT NULL,          -- unix s: every order updated before it is imported
  window_to  bigint,                        -- unix s: the window being paged; NULL between windows
  page_token text        NOT NULL DEFAULT '', -- where the window's next page starts ('' = first)
  pages      bigint      NOT NULL DEFAULT 0,  -- pages imported, all time
  orders     bigint      NOT NULL DEFAULT 0,  -- orders those pages held
  last_error text,                            -- why the last sync ended early; NULL after a good one
  updated_at timestamptz NOT NULL DEFAULT now()
);
