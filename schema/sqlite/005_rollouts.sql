-- 005_rollouts: staged rollouts with brakes, timeouts and maintenance windows (DESIGN.md
-- "Rollouts"). Every existing campaign becomes what it was: unstaged (stage 0 for its
-- deployments and none open), offering, with no rule.

-- The rules, as given at create (ota_rollout.h parses and checks them).
ALTER TABLE campaigns ADD COLUMN stages TEXT NOT NULL DEFAULT '';     -- '5%,25%,100%'; '': one
ALTER TABLE campaigns ADD COLUMN success_bp INTEGER NOT NULL DEFAULT 10000
    CHECK (success_bp BETWEEN 1 AND 10000);                          -- hundredths of a percent
ALTER TABLE campaigns ADD COLUMN max_failures INTEGER NOT NULL DEFAULT 0
    CHECK (max_failures >= 0);                                       -- 0: no brake
ALTER TABLE campaigns ADD COLUMN max_failures_pct INTEGER NOT NULL DEFAULT 0
    CHECK (max_failures_pct IN (0, 1));                              -- 1: max_failures in bp
ALTER TABLE campaigns ADD COLUMN min_finished INTEGER NOT NULL DEFAULT 1
    CHECK (min_finished >= 1);
ALTER TABLE campaigns ADD COLUMN timeout_s INTEGER NOT NULL DEFAULT 0
    CHECK (timeout_s >= 0);                                          -- 0: none
ALTER TABLE campaigns ADD COLUMN start_at INTEGER NOT NULL DEFAULT 0; -- 0: at start
ALTER TABLE campaigns ADD COLUMN win TEXT NOT NULL DEFAULT '';         -- maintenance window
ALTER TABLE campaigns ADD COLUMN canary TEXT NOT NULL DEFAULT '';      -- group ordered first
ALTER TABLE campaigns ADD COLUMN manual INTEGER NOT NULL DEFAULT 0 CHECK (manual IN (0, 1));
-- Where the rollout is. A deployment not yet under way is offered when its campaign runs,
-- offering = 1 (after start_at, inside the window; ota-notifier keeps it) and its stage
-- <= stage_open.
ALTER TABLE campaigns ADD COLUMN stage_count INTEGER NOT NULL DEFAULT 0;  -- 0: not staged
ALTER TABLE campaigns ADD COLUMN stage_open INTEGER NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN waiting INTEGER NOT NULL DEFAULT 0 CHECK (waiting IN (0, 1));
ALTER TABLE campaigns ADD COLUMN offering INTEGER NOT NULL DEFAULT 1 CHECK (offering IN (0, 1));
-- The update messages of offered pending deployments of stages >= announce_from that
-- are still to be queued (a stage opened, a window opened, a resume, a retry): queued
-- in batches after announce_cursor (a vehicle id) by whoever runs
-- ota_campaign_announce(), so no transaction grows with the stage.
ALTER TABLE campaigns ADD COLUMN announce_due INTEGER NOT NULL DEFAULT 0
    CHECK (announce_due IN (0, 1));
ALTER TABLE campaigns ADD COLUMN announce_from INTEGER NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN announce_cursor TEXT NOT NULL DEFAULT '';

-- A deployment's stage (0: its campaign is not staged) and when it got under way (its
-- first report), for --timeout.
ALTER TABLE deployments ADD COLUMN stage INTEGER NOT NULL DEFAULT 0 CHECK (stage >= 0);
ALTER TABLE deployments ADD COLUMN started_at INTEGER;
UPDATE deployments SET started_at = updated_at
WHERE state IN ('downloading', 'downloaded', 'installing');

-- The stages of a staged campaign: the highest order rank each holds (fixed at start:
-- the --canary group first, then an order seeded by the campaign id) and its
-- deployments by state, kept by the triggers below whatever moves a deployment (reports,
-- timeouts, cancel, supersede, revoke, retry), so a rule reads them at no cost.
CREATE TABLE campaign_stages (
    campaign      INTEGER NOT NULL REFERENCES campaigns (id),
    stage         INTEGER NOT NULL CHECK (stage >= 1),
    upto_rank     INTEGER NOT NULL,
    opened_at     INTEGER,
    n_pending     INTEGER NOT NULL DEFAULT 0 CHECK (n_pending >= 0),
    n_downloading INTEGER NOT NULL DEFAULT 0 CHECK (n_downloading >= 0),
    n_downloaded  INTEGER NOT NULL DEFAULT 0 CHECK (n_downloaded >= 0),
    n_installing  INTEGER NOT NULL DEFAULT 0 CHECK (n_installing >= 0),
    n_installed   INTEGER NOT NULL DEFAULT 0 CHECK (n_installed >= 0),
    n_failed      INTEGER NOT NULL DEFAULT 0 CHECK (n_failed >= 0),
    n_cancelled   INTEGER NOT NULL DEFAULT 0 CHECK (n_cancelled >= 0),
    PRIMARY KEY (campaign, stage)
) STRICT;

CREATE TRIGGER deployments_stage_insert AFTER INSERT ON deployments WHEN NEW.stage > 0
BEGIN
    UPDATE campaign_stages SET
        n_pending = n_pending + (NEW.state = 'pending'),
        n_installed = n_installed + (NEW.state = 'installed')
    WHERE campaign = NEW.campaign AND stage = NEW.stage;
END;

CREATE TRIGGER deployments_stage_move AFTER UPDATE OF state ON deployments
WHEN NEW.stage > 0 AND NEW.state IS NOT OLD.state
BEGIN
    UPDATE campaign_stages SET
        n_pending = n_pending - (OLD.state = 'pending') + (NEW.state = 'pending'),
        n_downloading = n_downloading - (OLD.state = 'downloading') + (NEW.state = 'downloading'),
        n_downloaded = n_downloaded - (OLD.state = 'downloaded') + (NEW.state = 'downloaded'),
        n_installing = n_installing - (OLD.state = 'installing') + (NEW.state = 'installing'),
        n_installed = n_installed - (OLD.state = 'installed') + (NEW.state = 'installed'),
        n_failed = n_failed - (OLD.state = 'failed') + (NEW.state = 'failed'),
        n_cancelled = n_cancelled - (OLD.state = 'cancelled') + (NEW.state = 'cancelled')
    WHERE campaign = NEW.campaign AND stage = NEW.stage;
END;

-- ota-notifier's timeout scan: what of a campaign is under way, oldest first.
CREATE INDEX deployments_under_way ON deployments (campaign, started_at)
    WHERE state IN ('downloading', 'downloaded', 'installing');
