/* The PostgreSQL backend (libpq): the only file that includes <libpq-fe.h>. Every
 * statement's SQL in PostgreSQL's dialect (ota_db_pg_sql.c), prepared once per session.
 * A transaction (ST_BEGIN) takes one advisory lock, as SQLite's BEGIN IMMEDIATE takes the
 * database's write lock: the write transactions of every ota-server, ota-notifier and
 * ota-admin on the database run one at a time, so that what the single SQLite writer
 * guaranteed holds with several nodes (statements outside a transaction are READ
 * COMMITTED, as each is atomic on its own). Commits of
 * other sessions are learnt from NOTIFY ota_changed (schema/postgresql/001_init.sql),
 * which stands in for SQLite's PRAGMA data_version. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

#include "ota_backoff.h"
#include "ota_db_driver.h"
#include "ota_db_pg_sql.h"
#include "ota_schema.h"
#include "ota_util.h"

#define MAX_ARGS 16

struct conn {
    PGconn *pg;
    PGresult *res[ST_COUNT]; /* the statement's rows while they are read */
    int row[ST_COUNT];
    int64_t changed[ST_COUNT];
    bool prepared;
    bool lead; /* this session holds the notifiers' lead lock */
    /* reconnecting: not before next_try_ms, the wait growing while the server is away,
     * so that a busy ota-server does not try once per request */
    struct ota_backoff retry;
    int64_t next_try_ms;
    int64_t version; /* commits by other sessions seen (NOTIFY ota_changed) */
    char err[512];   /* the last error, for errmsg() */
};

/* SQLSTATE classes and codes to the negative errno values of ota_db_driver.h. */
static int map_state(const char *state)
{
    static const struct {
        const char *code;
        int err;
    } codes[] = {
        { "40001", -EBUSY },  { "40P01", -EBUSY },    { "55P03", -EBUSY },
        { "23505", -EEXIST }, { "23514", -EEXIST },   { "23502", -EEXIST },
        { "23503", -ENOENT }, { "53100", -ENOSPC },   { "53200", -ENOMEM },
        { "25006", -EROFS },  { "42501", -EACCES },   { "28P01", -EACCES },
        { "28000", -EACCES }, { "3D000", -ENOENT },   { "57P01", -ECONNRESET },
        { "57P02", -ECONNRESET }, { "57P03", -ECONNRESET },
    };

    if (!state)
        return -EIO;
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (strcmp(state, codes[i].code) == 0)
            return codes[i].err;
    if (strncmp(state, "08", 2) == 0)
        return -ECONNRESET;
    return -EIO;
}

static void keep_error(struct conn *c, const char *msg)
{
    size_t n;

    snprintf(c->err, sizeof(c->err), "%s", msg && *msg ? msg : "unknown PostgreSQL error");
    n = strlen(c->err);
    while (n > 0 && (c->err[n - 1] == '\n' || c->err[n - 1] == ' '))
        c->err[--n] = '\0';
}

/* The error of @res (NULL: of the connection), kept for errmsg(); res is cleared. */
static int fail_with(struct conn *c, PGresult *res)
{
    int r;

    if (PQstatus(c->pg) == CONNECTION_BAD) {
        keep_error(c, PQerrorMessage(c->pg));
        r = -ECONNRESET;
    } else {
        keep_error(c, res ? PQresultErrorMessage(res) : PQerrorMessage(c->pg));
        r = map_state(res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL);
    }
    PQclear(res);
    return r;
}

static int exec(struct conn *c, const char *sql)
{
    PGresult *res = PQexec(c->pg, sql);

    if (PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK) {
        PQclear(res);
        return 0;
    }
    return fail_with(c, res);
}

static void drop_results(struct conn *c)
{
    for (int i = 0; i < ST_COUNT; i++) {
        PQclear(c->res[i]);
        c->res[i] = NULL;
    }
}

static void disconnect(void *p)
{
    struct conn *c = p;

    if (!c)
        return;
    drop_results(c);
    PQfinish(c->pg);
    free(c);
}

/* Notices (NOTICE: relation already exists, ...) are not errors: not on stderr. */
static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* What every session of ours runs with, at connect and after a reconnect: no notices on
 * stderr, and a lock waited for 5 s at most (SQLite's busy timeout). */
static int session_settings(struct conn *c)
{
    PQsetNoticeProcessor(c->pg, quiet, NULL);
    return exec(c, "SET client_min_messages = warning; SET lock_timeout = '5s'");
}

/* @where: a postgresql:// URL or a libpq key=value string (several hosts with
 * target_session_attrs=read-write follow a promoted standby). The database must exist:
 * @create does not make one (that is the DBA's CREATE DATABASE). */
static int connect(const char *where, bool create, void **ret)
{
    struct conn *c = calloc(1, sizeof(*c));
    int r;

    (void)create;
    if (!c)
        return -ENOMEM;
    c->pg = PQconnectdb(where);
    if (!c->pg) {
        free(c);
        return -ENOMEM;
    }
    if (PQstatus(c->pg) != CONNECTION_OK) {
        const char *m = PQerrorMessage(c->pg);
        /* libpq gives no SQLSTATE for a failed connection: its words decide */
        if (strstr(m, "does not exist"))
            r = -ENOENT;
        else if (strstr(m, "password authentication failed") ||
                 strstr(m, "no pg_hba.conf entry") || strstr(m, "permission denied"))
            r = -EACCES;
        else if (strstr(m, "invalid connection option") || strstr(m, "invalid URI") ||
                 strstr(m, "missing \"=\"") || strstr(m, "invalid integer value"))
            r = -EINVAL;
        else
            r = -ECONNREFUSED;
        ota_db_set_open_error(m);
        disconnect(c);
        return r;
    }
    ota_backoff_init(&c->retry, 100, 5000, 0);
    r = session_settings(c);
    if (r < 0) {
        ota_db_set_open_error(c->err);
        disconnect(c);
        return r;
    }
    *ret = c;
    return 0;
}

static const char *errmsg(void *p)
{
    struct conn *c = p;

    if (!c)
        return "no database";
    if (c->err[0])
        return c->err;
    return PQerrorMessage(c->pg);
}

static int schema_version(void *p, unsigned *ret)
{
    struct conn *c = p;
    /* the table is named only once it is known to exist: a query naming a missing table
     * fails when it is parsed, whatever its CASE would evaluate */
    PGresult *res = PQexec(c->pg, "SELECT to_regclass('ota_schema') IS NOT NULL");

    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        return fail_with(c, res);
    if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
        PQclear(res);
        *ret = 0;
        return 0;
    }
    PQclear(res);
    res = PQexec(c->pg, "SELECT max(version) FROM ota_schema");
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        return fail_with(c, res);
    *ret = PQgetisnull(res, 0, 0) ? 0 : (unsigned)strtoul(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return 0;
}

/* One migration in one transaction, under an advisory lock so that two `ota-admin init`
 * at once apply it once (the second finds the version moved and stops). */
static int migrate(void *p, unsigned to, const char *script)
{
    struct conn *c = p;
    unsigned now;
    char v[160];
    int r;

    if ((r = exec(c, "BEGIN")) < 0)
        return r;
    if ((r = exec(c, "SELECT pg_advisory_xact_lock(7370417)")) < 0)
        goto out;
    if ((r = schema_version(c, &now)) < 0)
        goto out;
    if (now >= to) {
        r = exec(c, "COMMIT");
        return r;
    }
    if ((r = exec(c, script)) < 0)
        goto out;
    snprintf(v, sizeof(v),
             "CREATE TABLE IF NOT EXISTS ota_schema (version INTEGER NOT NULL); "
             "INSERT INTO ota_schema (version) VALUES (%u)", to);
    if ((r = exec(c, v)) < 0)
        goto out;
    r = exec(c, "COMMIT");
out:
    if (r < 0 && PQtransactionStatus(c->pg) != PQTRANS_IDLE)
        (void)exec(c, "ROLLBACK");
    return r == -EEXIST ? -EIO : r;
}

/* What a session needs before it runs statements: the temporary tables of campaign
 * start, LISTEN, every statement prepared. Again after a reconnect. */
static int session_setup(struct conn *c)
{
    char name[16];
    int r;

    r = exec(c, "CREATE TEMP TABLE IF NOT EXISTS start_all (vehicle TEXT COLLATE \"C\" "
                "PRIMARY KEY); CREATE TEMP TABLE IF NOT EXISTS start_targets (vehicle TEXT "
                "COLLATE \"C\" PRIMARY KEY); LISTEN ota_changed");
    if (r < 0)
        return r;
    for (int i = 0; i < ST_COUNT; i++) {
        if (!ota_db_pg_sql[i]) {
            keep_error(c, "a statement has no PostgreSQL SQL");
            return -EIO;
        }
        snprintf(name, sizeof(name), "s%d", i);
        PGresult *res = PQprepare(c->pg, name, ota_db_pg_sql[i], 0, NULL);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            char m[400];
            snprintf(m, sizeof(m), "statement %d: %s", i, PQresultErrorMessage(res));
            r = fail_with(c, res);
            keep_error(c, m);
            return r;
        }
        PQclear(res);
    }
    c->prepared = true;
    return 0;
}

static int prepare(void *p)
{
    struct conn *c = p;

    return c->prepared ? 0 : session_setup(c);
}

/* A connection that went away (server restart, failover): one reset, and the session set
 * up again. The statement that found it gone still fails: its transaction is lost. */
static void revive(struct conn *c)
{
    int64_t now = ota_monotonic_ms();

    if (PQstatus(c->pg) != CONNECTION_BAD)
        return;
    drop_results(c);
    c->prepared = false;
    c->lead = false; /* a session lock dies with its session */
    if (now < c->next_try_ms)
        return;
    PQreset(c->pg);
    if (PQstatus(c->pg) == CONNECTION_OK) {
        if (session_settings(c) == 0)
            (void)session_setup(c);
        c->version++; /* whatever happened meanwhile: caches start over */
    }
    if (c->prepared) {
        ota_backoff_reset(&c->retry);
        c->next_try_ms = 0;
    } else {
        c->next_try_ms = ota_monotonic_ms() + ota_backoff_next(&c->retry);
    }
}

static void reset(void *p, enum ota_stmt id)
{
    struct conn *c = p;

    PQclear(c->res[id]);
    c->res[id] = NULL;
}

/* The write lock of the whole database, held to the transaction's end; waits as
 * SQLite's busy handler does, and a transaction that cannot get it fails and is rolled
 * back. */
#define WRITE_LOCK_KEY "7370418"
static int write_lock(struct conn *c)
{
    int r = exec(c, "SELECT pg_advisory_xact_lock(" WRITE_LOCK_KEY ")");

    if (r < 0)
        (void)exec(c, "ROLLBACK");
    return r;
}

static bool in_transaction(void *p);

/* The inserts whose refusal (a duplicate id or name, an unknown artifact or campaign)
 * callers answer by reading on in the same transaction, to say why: SQLite goes on after
 * a failed statement, PostgreSQL aborts the whole transaction unless the statement ran
 * under a savepoint. Only these pay the two extra round trips (not the events and outbox
 * rows of the status path, which have nothing to collide with). */
static bool guarded(enum ota_stmt id)
{
    switch (id) {
    case ST_VEHICLE_ADD:
    case ST_EDGE_ADD:
    case ST_ARTIFACT_INSERT:
    case ST_CAMPAIGN_INSERT:
    case ST_DEPLOY_INSERT:
    case ST_STAGE_INSERT:
        return true;
    default:
        return false;
    }
}

static int run(void *p, enum ota_stmt id, const struct ota_db_arg *args, unsigned nargs)
{
    struct conn *c = p;
    const char *values[MAX_ARGS];
    char ints[MAX_ARGS][24], name[16];
    PGresult *res;
    bool guard;
    int r;

    reset(c, id);
    if (!c->prepared || PQstatus(c->pg) == CONNECTION_BAD) {
        revive(c);
        if (!c->prepared) {
            if (PQstatus(c->pg) == CONNECTION_BAD)
                keep_error(c, PQerrorMessage(c->pg));
            return -ECONNRESET;
        }
        if (id != ST_BEGIN)
            return -ECONNRESET;
    }
    if (nargs > MAX_ARGS)
        return -EINVAL;
    for (unsigned i = 0; i < nargs; i++) {
        switch (args[i].type) {
        case OTA_ARG_INT:
            snprintf(ints[i], sizeof(ints[i]), "%" PRId64, args[i].i);
            values[i] = ints[i];
            break;
        case OTA_ARG_TEXT:
            values[i] = args[i].s;
            break;
        case OTA_ARG_NULL:
            values[i] = NULL;
            break;
        }
    }
    guard = in_transaction(c) && guarded(id);
    if (guard && (r = exec(c, "SAVEPOINT ota_guard")) < 0)
        return r;
    snprintf(name, sizeof(name), "s%d", (int)id);
    res = PQexecPrepared(c->pg, name, (int)nargs, values, NULL, NULL, 0);
    switch (PQresultStatus(res)) {
    case PGRES_COMMAND_OK:
    case PGRES_TUPLES_OK:
        c->changed[id] = strtoll(PQcmdTuples(res), NULL, 10);
        if (guard && (r = exec(c, "RELEASE SAVEPOINT ota_guard")) < 0) {
            PQclear(res);
            return r;
        }
        if (PQresultStatus(res) == PGRES_COMMAND_OK || PQntuples(res) == 0) {
            PQclear(res);
            return id == ST_BEGIN ? write_lock(c) : 0;
        }
        c->res[id] = res;
        c->row[id] = 0;
        return 1;
    default:
        r = fail_with(c, res);
        if (guard && PQstatus(c->pg) == CONNECTION_OK) {
            char keep[sizeof(c->err)];
            memcpy(keep, c->err, sizeof(keep));
            (void)exec(c, "ROLLBACK TO SAVEPOINT ota_guard; RELEASE SAVEPOINT ota_guard");
            memcpy(c->err, keep, sizeof(keep));
        }
        return r;
    }
}

static int next(void *p, enum ota_stmt id)
{
    struct conn *c = p;

    if (!c->res[id])
        return 0;
    if (++c->row[id] < PQntuples(c->res[id]))
        return 1;
    reset(c, id);
    return 0;
}

static const char *text(void *p, enum ota_stmt id, unsigned col)
{
    struct conn *c = p;

    if (!c->res[id] || (int)col >= PQnfields(c->res[id]) ||
        PQgetisnull(c->res[id], c->row[id], (int)col))
        return NULL;
    return PQgetvalue(c->res[id], c->row[id], (int)col);
}

static size_t text_len(void *p, enum ota_stmt id, unsigned col)
{
    struct conn *c = p;

    if (!text(p, id, col))
        return 0;
    return (size_t)PQgetlength(c->res[id], c->row[id], (int)col);
}

static int64_t integer(void *p, enum ota_stmt id, unsigned col)
{
    const char *t = text(p, id, col);

    if (!t)
        return 0;
    /* booleans come as t/f in text format */
    if (t[0] == 't' && t[1] == '\0')
        return 1;
    return strtoll(t, NULL, 10);
}

static int64_t changes(void *p, enum ota_stmt id)
{
    struct conn *c = p;

    return c->changed[id];
}

static bool in_transaction(void *p)
{
    struct conn *c = p;

    return PQtransactionStatus(c->pg) != PQTRANS_IDLE;
}

/* Commits by other sessions since the connection was made: notifications of channel
 * ota_changed that another backend sent (our own commits do not count, as with SQLite).
 * They arrive after the commit, a network hop later: a cache may answer from the old
 * rows for that long. */
static int data_version(void *p, int64_t *ret)
{
    struct conn *c = p;
    PGnotify *n;
    int self = PQbackendPID(c->pg);

    if (PQstatus(c->pg) == CONNECTION_BAD) {
        revive(c);
        if (PQstatus(c->pg) == CONNECTION_BAD)
            return -ECONNRESET;
    }
    if (!PQconsumeInput(c->pg))
        return fail_with(c, NULL);
    while ((n = PQnotifies(c->pg)) != NULL) {
        if (n->be_pid != self)
            c->version++;
        PQfreemem(n);
    }
    *ret = c->version;
    return 0;
}

/* The lead of the ota-notifiers: a session-level advisory lock (another key than the
 * write lock's), taken without waiting. */
#define LEAD_KEY "7370419"
static int lead(void *p)
{
    struct conn *c = p;
    PGresult *res;

    if (PQstatus(c->pg) == CONNECTION_BAD) {
        revive(c);
        if (PQstatus(c->pg) == CONNECTION_BAD)
            return -ECONNRESET;
    }
    if (c->lead)
        return 1;
    res = PQexec(c->pg, "SELECT pg_try_advisory_lock(" LEAD_KEY ")");
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        return fail_with(c, res);
    c->lead = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return c->lead ? 1 : 0;
}

static int wait_fd(void *p)
{
    struct conn *c = p;

    return PQstatus(c->pg) == CONNECTION_OK ? PQsocket(c->pg) : -1;
}

const struct ota_db_driver ota_db_pg_driver = {
    .name = "postgresql",
    .migrations = ota_schema_postgresql,
    .version = &ota_schema_postgresql_version,
    .connect = connect,
    .disconnect = disconnect,
    .errmsg = errmsg,
    .schema_version = schema_version,
    .migrate = migrate,
    .prepare = prepare,
    .run = run,
    .next = next,
    .reset = reset,
    .text = text,
    .text_len = text_len,
    .integer = integer,
    .changes = changes,
    .in_transaction = in_transaction,
    .data_version = data_version,
    .wait_fd = wait_fd,
    .lead = lead,
};
