#!/usr/bin/env bash
# with_pg.sh TEST [ARGS]: runs a database unit test against PostgreSQL: a cluster of its
# own (tests/pg_cluster.sh), whose URL base goes to the test in OTA_TEST_PG; the test makes
# a fresh database per case (ota_test_db.h). Stopped and removed afterwards.
set -u
# shellcheck source=../pg_cluster.sh
source "$(dirname "$0")/../pg_cluster.sh"
pg_cluster_start unit || { echo "with_pg.sh: no PostgreSQL cluster" >&2; exit 1; }
trap 'pg_cluster_stop' EXIT
OTA_TEST_PG="postgresql://postgres@127.0.0.1:$PG_PORT" "$@"
