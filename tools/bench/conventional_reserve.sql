-- The conventional reservation: one conditional UPDATE per request, serialised on the row lock
-- of the SKU. pgbench substitutes :id (one hot SKU, or random over many).
\set n 1
UPDATE inventory SET available = available - :n, reserved = reserved + :n
 WHERE sku = :id AND available >= :n;
