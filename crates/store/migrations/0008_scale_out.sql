-- Scale-out mode (docs/deployment.md): events consumed from NATS JetStream are recorded here in
-- the same transaction as their effect, so a redelivered event (a worker killed before its
-- acknowledgement) is recognised and changes nothing the second time.
CREATE TABLE consumed_events (
    consumer TEXT NOT NULL,
    event_id TEXT NOT NULL,
    consumed_at BIGINT NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
CREATE INDEX consumed_events_consumed_at ON consumed_events (consumed_at);
