-- 0017: an operator may send a dead letter again (POST /v1/admin/dead-letters/{id}/retry). A
-- letter keeps its history: how many retries failed, and when one succeeded (it is resolved
-- then, and not sent again).
ALTER TABLE dead_letters
  ADD COLUMN retries integer NOT NULL DEFAULT 0,
  ADD COLUMN resolved_at timestamptz;
