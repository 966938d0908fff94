-- Events a projection could not apply (it could not read them): recorded and passed over, so
-- that one bad event does not stop the read model for everyone. /ready reports them as not
-- ready and /metrics counts them; an operator fixes the cause and rebuilds the projection.
CREATE TABLE projection_dead_letters
(
    projection     text   NOT NULL,
    position       bigint NOT NULL,
    aggregate_type text   NOT NULL,
    aggregate_id   text   NOT NULL,
    sequence       bigint NOT NULL,
    error          text   NOT NULL,
    recorded_at    text   NOT NULL,
    PRIMARY KEY (projection, position)
);
