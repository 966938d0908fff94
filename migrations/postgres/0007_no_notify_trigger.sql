-- Every commit that sent a NOTIFY queued on Postgres' notification lock, one after the other.
-- Runners are woken in-process by the writer and look at the log on a short poll for what
-- other processes wrote.
DROP TRIGGER events_notify ON events;
DROP FUNCTION events_notify();
