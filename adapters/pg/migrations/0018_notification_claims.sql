-- 0018: who claimed a delivery that is being sent. The sender is one per cluster (a singleton);
-- a new one hands what an earlier, dead one had claimed back at once instead of waiting for the
-- lease to run out, so a restart delays nothing. A delivery it repeats keeps its idempotency key.
ALTER TABLE notifications ADD COLUMN claimed_by text;
