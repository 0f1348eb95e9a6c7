-- 0016: quiet hours, computed where the time zone database is. mercato_quiet_until answers the
-- end of a customer's quiet hours (local minutes start_min..end_min of the day in `tz`, spanning
-- midnight when start_min > end_min) if `at` falls inside them, else NULL. A zone PostgreSQL
-- does not know counts as UTC, so that one bad row cannot stop every delivery.
CREATE FUNCTION mercato_quiet_until(tz text, start_min integer, end_min integer, at timestamptz)
RETURNS timestamptz LANGUAGE plpgsql STABLE AS $$
DECLARE
  local_at timestamp;
  m integer;
  ends timestamp;
BEGIN
  IF start_min = end_min THEN
    RETURN NULL;
  END IF;
  BEGIN
    local_at := at AT TIME ZONE tz;
  EXCEPTION WHEN others THEN
    tz := 'UTC';
    local_at := at AT TIME ZONE tz;
  END;
  m := extract(hour FROM local_at)::integer * 60 + extract(minute FROM local_at)::integer;
  IF (start_min < end_min AND (m < start_min OR m >= end_min))
     OR (start_min > end_min AND m < start_min AND m >= end_min) THEN
    RETURN NULL;
  END IF;
  ends := date_trunc('day', local_at) + end_min * interval '1 minute';
  IF ends <= local_at THEN
    ends := ends + interval '1 day';
  END IF;
  RETURN ends AT TIME ZONE tz;
END
$$;
