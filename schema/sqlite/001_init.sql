-- 001_init: the whole first schema. DDL only; applied by ota_db_migrate().

CREATE TABLE vehicles (
    id          TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
    model       TEXT NOT NULL DEFAULT '',
    grp         TEXT NOT NULL DEFAULT '',
    attributes  TEXT NOT NULL DEFAULT '{}',   -- JSON object (hawkBit configData)
    state       TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'revoked')),
    created_at  INTEGER NOT NULL,
    last_seen   INTEGER
) STRICT;
CREATE INDEX vehicles_grp ON vehicles (grp);
CREATE INDEX vehicles_model ON vehicles (model);

CREATE TABLE edges (
    name        TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 64),
    state       TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'revoked')),
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE artifacts (
    sha256      TEXT PRIMARY KEY CHECK (length(sha256) = 64),
    sha1        TEXT NOT NULL CHECK (length(sha1) = 40),
    md5         TEXT NOT NULL CHECK (length(md5) = 32),
    size        INTEGER NOT NULL CHECK (size >= 0),
    name        TEXT NOT NULL,
    version     TEXT NOT NULL,
    hw          TEXT NOT NULL DEFAULT '',
    signature   TEXT NOT NULL,                -- minisign .minisig text
    created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE campaigns (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    artifact    TEXT NOT NULL REFERENCES artifacts (sha256),
    target_kind TEXT NOT NULL
                CHECK (target_kind IN ('vehicles', 'group', 'model', 'all', 'attributes')),
    target      TEXT NOT NULL DEFAULT '',     -- comma list of ids, group or model name, or
                                              -- a JSON object of attributes to match
    state       TEXT NOT NULL DEFAULT 'created'
                CHECK (state IN ('created', 'running', 'paused', 'cancelled', 'finished')),
    created_at  INTEGER NOT NULL,
    started_at  INTEGER,
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE deployments (
    id          INTEGER PRIMARY KEY,
    campaign    INTEGER NOT NULL REFERENCES campaigns (id),
    vehicle     TEXT NOT NULL REFERENCES vehicles (id),
    state       TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'downloading', 'downloaded', 'installing',
                                 'installed', 'failed', 'cancelled')),
    bytes       INTEGER NOT NULL DEFAULT 0,
    detail      TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (campaign, vehicle)
) STRICT;
-- (vehicle) and not (vehicle, state): the rowid in the index gives "newest first" for
-- ota_db_deployment_current() without sorting on every poll.
CREATE INDEX deployments_vehicle ON deployments (vehicle);

-- Transactional outbox: ota-notifier publishes 'pending' rows in id order and marks a row
-- 'published' only after the broker's PUBACK. 'held' rows belong to a paused campaign;
-- 'dropped' rows were superseded (campaign cancelled before they went out).
-- topic is relative to [mqtt] topic_prefix, e.g. 'vehicles/VIN1/update'.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    vehicle         TEXT NOT NULL REFERENCES vehicles (id),
    campaign        INTEGER REFERENCES campaigns (id),
    topic           TEXT NOT NULL,
    payload         TEXT NOT NULL,            -- '' clears the retained message
    retain          INTEGER NOT NULL DEFAULT 1,
    state           TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('held', 'pending', 'published', 'dropped')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    published_at    INTEGER
) STRICT;
CREATE INDEX outbox_due ON outbox (state, next_attempt_at, id);
CREATE INDEX outbox_campaign ON outbox (campaign, state);
CREATE INDEX outbox_vehicle ON outbox (vehicle);

-- Audit: every status report (REST, MQTT, DDI) and every admin action.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    ts          INTEGER NOT NULL,
    actor       TEXT NOT NULL,                -- 'admin', 'rest', 'mqtt', 'ddi', 'notifier'
    kind        TEXT NOT NULL,                -- 'status', 'vehicle.add', 'campaign.start', ...
    vehicle     TEXT,
    campaign    INTEGER,
    state       TEXT,
    bytes       INTEGER,
    detail      TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX events_campaign ON events (campaign, id);
CREATE INDEX events_vehicle ON events (vehicle, id);
