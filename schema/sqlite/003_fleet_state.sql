-- 003_fleet_state: what each vehicle runs, one unfinished deployment per vehicle, per-state
-- deployment counts kept on the campaign, soft-deleted artifacts, hawkBit cancel
-- acknowledgements as a column. Applied with foreign keys off (the campaigns table is
-- rebuilt); ota_db_migrate checks them before it commits.

-- What a vehicle runs: its last installed report's artifact.
ALTER TABLE vehicles ADD COLUMN installed_sha256 TEXT;
ALTER TABLE vehicles ADD COLUMN installed_version TEXT NOT NULL DEFAULT '';
ALTER TABLE vehicles ADD COLUMN installed_at INTEGER;
UPDATE vehicles SET (installed_sha256, installed_version, installed_at) = (
    SELECT a.sha256, a.version, d.updated_at
    FROM deployments d JOIN campaigns c ON c.id = d.campaign JOIN artifacts a ON a.sha256 = c.artifact
    WHERE d.vehicle = vehicles.id AND d.state = 'installed'
    ORDER BY d.updated_at DESC, d.id DESC LIMIT 1)
WHERE EXISTS (SELECT 1 FROM deployments d WHERE d.vehicle = vehicles.id AND d.state = 'installed');
UPDATE vehicles SET installed_version = '' WHERE installed_version IS NULL;
CREATE INDEX vehicles_installed_version ON vehicles (installed_version);

-- An artifact whose bytes were deleted keeps its row: the campaigns that used it still
-- say what they sent.
ALTER TABLE artifacts ADD COLUMN deleted_at INTEGER;

-- The hawkBit "canceling" state ends when the device acknowledges the cancel; what the
-- deployment was doing when it was cancelled says whether the cancel came too late (a
-- device that had installed everything only waited for its confirming restart).
ALTER TABLE deployments ADD COLUMN cancel_acked INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deployments ADD COLUMN cancelled_from TEXT
    CHECK (cancelled_from IN ('pending', 'downloading', 'downloaded', 'installing'));
UPDATE deployments SET cancel_acked = 1 WHERE detail = 'ddi: cancel acknowledged';

-- One unfinished deployment per vehicle: older ones of a vehicle that has several end
-- cancelled (what campaign start --supersede does from now on).
UPDATE deployments SET state = 'cancelled', cancelled_from = state,
    detail = 'superseded by campaign ' || (SELECT max(n.campaign) FROM deployments n
        WHERE n.vehicle = deployments.vehicle
          AND n.state IN ('pending', 'downloading', 'downloaded', 'installing'))
WHERE state IN ('pending', 'downloading', 'downloaded', 'installing')
  AND id < (SELECT max(n.id) FROM deployments n WHERE n.vehicle = deployments.vehicle
            AND n.state IN ('pending', 'downloading', 'downloaded', 'installing'));
CREATE UNIQUE INDEX deployments_one_unfinished ON deployments (vehicle)
    WHERE state IN ('pending', 'downloading', 'downloaded', 'installing');
-- campaign listings by state, paged by vehicle
CREATE INDEX deployments_campaign_state ON deployments (campaign, state, vehicle);

-- campaigns: the 'starting' state and the counts by deployment state.
CREATE TABLE campaigns_v3 (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    artifact    TEXT NOT NULL REFERENCES artifacts (sha256),
    target_kind TEXT NOT NULL
                CHECK (target_kind IN ('vehicles', 'group', 'model', 'all', 'attributes')),
    target      TEXT NOT NULL DEFAULT '',
    state       TEXT NOT NULL DEFAULT 'created'
                CHECK (state IN ('created', 'starting', 'running', 'paused', 'cancelled',
                                 'finished')),
    created_at  INTEGER NOT NULL,
    started_at  INTEGER,
    updated_at  INTEGER NOT NULL,
    n_pending     INTEGER NOT NULL DEFAULT 0 CHECK (n_pending >= 0),
    n_downloading INTEGER NOT NULL DEFAULT 0 CHECK (n_downloading >= 0),
    n_downloaded  INTEGER NOT NULL DEFAULT 0 CHECK (n_downloaded >= 0),
    n_installing  INTEGER NOT NULL DEFAULT 0 CHECK (n_installing >= 0),
    n_installed   INTEGER NOT NULL DEFAULT 0 CHECK (n_installed >= 0),
    n_failed      INTEGER NOT NULL DEFAULT 0 CHECK (n_failed >= 0),
    n_cancelled   INTEGER NOT NULL DEFAULT 0 CHECK (n_cancelled >= 0)
) STRICT;
INSERT INTO campaigns_v3 (id, name, artifact, target_kind, target, state, created_at, started_at,
                          updated_at, n_pending, n_downloading, n_downloaded, n_installing,
                          n_installed, n_failed, n_cancelled)
    SELECT c.id, c.name, c.artifact, c.target_kind, c.target, c.state, c.created_at,
           c.started_at, c.updated_at,
           (SELECT count(*) FROM deployments d WHERE d.campaign = c.id AND d.state = 'pending'),
           (SELECT count(*) FROM deployments d WHERE d.campaign = c.id AND d.state = 'downloading'),
           (SELECT count(*) FROM deployments d WHERE d.campaign = c.id AND d.state = 'downloaded'),
           (SELECT count(*) FROM deployments d WHERE d.campaign = c.id AND d.state = 'installing'),
           (SELECT count(*) FROM deployments d WHERE d.campaign = c.id AND d.state = 'installed'),
           (SELECT count(*) FROM deployments d WHERE d.campaign = c.id AND d.state = 'failed'),
           (SELECT count(*) FROM deployments d WHERE d.campaign = c.id AND d.state = 'cancelled')
    FROM campaigns c;
DROP TABLE campaigns;
ALTER TABLE campaigns_v3 RENAME TO campaigns;
-- A campaign whose deployments all ended by the cleanup above has finished.
UPDATE campaigns SET state = 'finished'
WHERE state IN ('running', 'paused')
  AND n_pending + n_downloading + n_downloaded + n_installing = 0;
