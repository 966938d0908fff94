-- Which build of a projection's tables is live: set anew whenever they are created or a
-- rebuild swaps them in, so that a process keeping a copy of a read model in memory knows to
-- read it again whole rather than only what moved past its position.
ALTER TABLE projection_checkpoints ADD COLUMN generation text;
