-- The version of the read model a projection's tables were built by; a projection whose code
-- has a newer version is rebuilt from zero at start-up.
ALTER TABLE projection_checkpoints ADD COLUMN version integer NOT NULL DEFAULT 0;
