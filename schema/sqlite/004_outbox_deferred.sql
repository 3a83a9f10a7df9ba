-- 004_outbox_deferred: the pending rows a failed publish put off (next_attempt_at > 0),
-- for ota-notifier's start-up. A new row (next_attempt_at 0) never enters this index and
-- a published one leaves it, so it stays as small as the retries and costs the hot path
-- nothing; without it the start-up walked every pending row (0.2 s at a million).
CREATE INDEX outbox_deferred ON outbox (id) WHERE state = 'pending' AND next_attempt_at > 0;
