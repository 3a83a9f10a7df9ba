-- 006_public_artifacts: artifacts an operator marks public may be fetched (GET, HEAD)
-- without a client certificate, by anyone who knows their sha256 (README "Delta
-- updates": SWUpdate 2022.12's delta handler cannot present one). Off for every
-- existing artifact.
ALTER TABLE artifacts ADD COLUMN public INTEGER NOT NULL DEFAULT 0 CHECK (public IN (0, 1));
