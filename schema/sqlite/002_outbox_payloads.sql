-- 002_outbox_payloads: each message body stored once; narrow outbox rows. DDL and data move only.
--
-- A campaign of N vehicles sends the same message N times. Until now every outbox row
-- carried the whole ~700-byte body and its topic, so `campaign start` wrote N copies and
-- each PUBACK mark rewrote a wide row plus two index entries. Now:
--   * outbox_payloads holds each body once; outbox.payload_id references it, NULL meaning
--     the empty message (the one that clears a retained topic). Bodies are never changed
--     nor deleted while a row references them. (A new column name, so that a script that
--     still reads outbox.payload fails instead of reading ids; outbox_messages below reads
--     as the outbox did.)
--   * outbox.topic is NULL for the usual topic, 'vehicles/<vehicle>/update' (relative to
--     [mqtt] topic_prefix); any other topic is stored as before.
--   * The indexes that mention the state are partial and leave published rows out, so a
--     PUBACK mark only deletes index entries, and a row's mark touches its narrow row.
-- Existing rows move losslessly: same ids, states, counters and times; identical bodies
-- share one payload row; '' becomes NULL; the usual topic becomes NULL.

CREATE TABLE outbox_payloads (
    id          INTEGER PRIMARY KEY,
    body        TEXT NOT NULL CHECK (body <> '')  -- the empty message: outbox.payload_id NULL
) STRICT;

INSERT INTO outbox_payloads (body)
    SELECT payload FROM outbox WHERE payload <> '' GROUP BY payload ORDER BY min(id);

CREATE TABLE outbox_v2 (
    id              INTEGER PRIMARY KEY,
    vehicle         TEXT NOT NULL REFERENCES vehicles (id),
    campaign        INTEGER REFERENCES campaigns (id),
    payload_id      INTEGER REFERENCES outbox_payloads (id),  -- NULL: '' (clears the topic)
    topic           TEXT,                     -- NULL: 'vehicles/<vehicle>/update'
    retain          INTEGER NOT NULL DEFAULT 1,
    state           TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('held', 'pending', 'published', 'dropped')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    published_at    INTEGER
) STRICT;

INSERT INTO outbox_v2 (id, vehicle, campaign, payload_id, topic, retain, state, attempts,
                       next_attempt_at, created_at, published_at)
    SELECT o.id, o.vehicle, o.campaign, p.id,
           CASE WHEN o.topic = 'vehicles/' || o.vehicle || '/update' THEN NULL ELSE o.topic END,
           o.retain, o.state, o.attempts, o.next_attempt_at, o.created_at, o.published_at
    FROM outbox o LEFT JOIN outbox_payloads p ON o.payload <> '' AND p.body = o.payload
    ORDER BY o.id;

DROP TABLE outbox;
ALTER TABLE outbox_v2 RENAME TO outbox;

-- ota-notifier's due scan: pending rows in id order, next_attempt_at read from the index.
CREATE INDEX outbox_due ON outbox (id, next_attempt_at) WHERE state = 'pending';
-- pause/resume/cancel moves and "what of this campaign is still unsent".
CREATE INDEX outbox_campaign ON outbox (campaign, state) WHERE state <> 'published';
CREATE INDEX outbox_vehicle ON outbox (vehicle);

-- The outbox as it read before 002 (topic and body spelled out), for operators and
-- scripts: SELECT payload FROM outbox_messages WHERE campaign = ?.
CREATE VIEW outbox_messages AS
    SELECT o.id, o.vehicle, o.campaign,
           coalesce(o.topic, 'vehicles/' || o.vehicle || '/update') AS topic,
           coalesce(p.body, '') AS payload,
           o.retain, o.state, o.attempts, o.next_attempt_at, o.created_at, o.published_at
    FROM outbox o LEFT JOIN outbox_payloads p ON p.id = o.payload_id;
