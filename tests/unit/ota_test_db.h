/* Helpers for the database unit tests: where a case's database is (a SQLite file, or a
 * fresh PostgreSQL database when tests/unit/with_pg.sh runs the test), a dump of every row
 * (to prove a refusal changed nothing), the counts invariant, and listings collected
 * from the iterators. */
#pragma once
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include "ota_db.h"
#include "ota_test.h"

/* The PostgreSQL cluster's base URL (postgresql://user@host:port) when the test runs on
 * PostgreSQL, else NULL. */
static inline const char *ota_test_pg(void)
{
    const char *base = getenv("OTA_TEST_PG");

    return base && *base ? base : NULL;
}

/* The database of case @name (a file name such as "main.db"): @dir/@name on SQLite; on
 * PostgreSQL a database made afresh for it (dropped first if a run left one), whose URL
 * goes to @buf. */
static inline void ota_test_db_where(const char *dir, const char *name, char *buf, size_t len)
{
    const char *base = ota_test_pg();
    char db[64], sql[256];
    size_t n = 0;

    if (!base) {
        snprintf(buf, len, "%s/%s", dir, name);
        return;
    }
    for (const char *p = name; *p && n < sizeof(db) - 1; p++)
        db[n++] = (char)((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ? *p : '_');
    db[n] = '\0';
    snprintf(buf, len, "%s/postgres", base);
    PGconn *pg = PQconnectdb(buf);
    CHECK_FATAL(PQstatus(pg) == CONNECTION_OK);
    PQclear(PQexec(pg, "SET client_min_messages = warning"));
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", db);
    PQclear(PQexec(pg, sql));
    snprintf(sql, sizeof(sql), "CREATE DATABASE \"%s\"", db);
    PGresult *res = PQexec(pg, sql);
    CHECK_FATAL(PQresultStatus(res) == PGRES_COMMAND_OK);
    PQclear(res);
    PQfinish(pg);
    snprintf(buf, len, "%s/%s", base, db);
}

/* One integer a query answers on the database @where (either backend); -1 on error. */
static inline long long ota_test_sql_int(const char *where, const char *sql)
{
    long long v = -1;

    if (ota_db_is_url(where)) {
        PGconn *pg = PQconnectdb(where);
        PGresult *res = PQexec(pg, sql);
        if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
            v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        PQfinish(pg);
        return v;
    }
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_open(where, &h) == SQLITE_OK &&
        sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

/* ota_test_dump() on PostgreSQL: every row of every table as its text form, tables by
 * name and rows sorted by that text (a refusal that changed nothing leaves it equal). */
static inline char *ota_test_dump_pg(const char *url)
{
    PGconn *pg = PQconnectdb(url);
    PGresult *tables;
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);

    CHECK_FATAL(out && PQstatus(pg) == CONNECTION_OK);
    out[0] = '\0';
    tables = PQexec(pg, "SELECT table_name FROM information_schema.tables WHERE table_schema = "
                        "'public' AND table_type = 'BASE TABLE' ORDER BY 1");
    CHECK_FATAL(PQresultStatus(tables) == PGRES_TUPLES_OK);
    for (int t = 0; t < PQntuples(tables); t++) {
        char sql[256];
        snprintf(sql, sizeof(sql), "SELECT r::text FROM \"%s\" AS r ORDER BY 1",
                 PQgetvalue(tables, t, 0));
        PGresult *rows = PQexec(pg, sql);
        CHECK_FATAL(PQresultStatus(rows) == PGRES_TUPLES_OK);
        for (int i = 0; i < PQntuples(rows); i++) {
            const char *v = PQgetvalue(rows, i, 0);
            size_t need = len + strlen(v) + 64;
            if (need > cap) {
                cap = need * 2;
                out = realloc(out, cap);
                CHECK_FATAL(out);
            }
            len += (size_t)snprintf(out + len, cap - len, "%s|%s\n", PQgetvalue(tables, t, 0), v);
        }
        PQclear(rows);
    }
    PQclear(tables);
    PQfinish(pg);
    return out;
}

/* Every row of every table of the database @path as text: for a SQLite file in table and
 * rowid order (sqlite3's .dump, without the CLI). New string (free()). */
static inline char *ota_test_dump(const char *path)
{
    if (ota_db_is_url(path))
        return ota_test_dump_pg(path);
    sqlite3 *h = NULL;
    sqlite3_stmt *tables = NULL;
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);

    CHECK_FATAL(out && sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    out[0] = '\0';
    CHECK_FATAL(sqlite3_prepare_v2(h, "SELECT name FROM sqlite_schema WHERE type = 'table' AND "
                                      "name NOT LIKE 'sqlite_%' ORDER BY name",
                                   -1, &tables, NULL) == SQLITE_OK);
    while (sqlite3_step(tables) == SQLITE_ROW) {
        char sql[256];
        sqlite3_stmt *st = NULL;

        snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\" ORDER BY rowid",
                 (const char *)sqlite3_column_text(tables, 0));
        CHECK_FATAL(sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK);
        while (sqlite3_step(st) == SQLITE_ROW) {
            for (int i = 0; i < sqlite3_column_count(st); i++) {
                const char *v = (const char *)sqlite3_column_text(st, i);
                size_t need = len + (v ? strlen(v) : 4) + 64;
                if (need > cap) {
                    cap = need * 2;
                    out = realloc(out, cap);
                    CHECK_FATAL(out);
                }
                len += (size_t)snprintf(out + len, cap - len, "%s|", v ? v : "NULL");
            }
            out[len++] = '\n';
            out[len] = '\0';
        }
        sqlite3_finalize(st);
    }
    sqlite3_finalize(tables);
    sqlite3_close(h);
    return out;
}

/* Fails the test when @path's rows differ from @before (then frees @before). */
#define CHECK_DUMP_SAME(path, before)                                                       \
    do {                                                                                    \
        char *after_ = ota_test_dump(path);                                                 \
        if (strcmp((before), after_) != 0) {                                                \
            fprintf(stderr, "%s:%d: the database changed on a refusal\n", __FILE__, __LINE__); \
            ota_test_failures++;                                                            \
        }                                                                                   \
        free(after_);                                                                       \
        free(before);                                                                       \
    } while (0)

/* The counts kept on every campaign equal the rows' (the invariant of ota_db.c). */
static inline void ota_test_check_counts(struct ota_db *db, int line)
{
    const struct ota_campaign *c;
    struct ota_db_iter it;
    int64_t ids[256];
    uint64_t kept[256][OTA_DEPLOY_STATE_COUNT];
    size_t n = 0;

    CHECK_FATAL(ota_db_campaigns_begin(db, &it) == 0);
    while (n < 256 && ota_db_campaigns_next(&it, &c) > 0) {
        ids[n] = c->id;
        memcpy(kept[n++], c->counts, sizeof(kept[0]));
    }
    ota_db_iter_end(&it);
    for (size_t i = 0; i < n; i++) {
        uint64_t rows[OTA_DEPLOY_STATE_COUNT];
        CHECK_FATAL(ota_db_deployment_recount(db, ids[i], rows) == 0);
        if (memcmp(rows, kept[i], sizeof(rows)) != 0) {
            fprintf(stderr, "line %d: campaign %lld: kept counts differ from the rows\n", line,
                    (long long)ids[i]);
            ota_test_failures++;
        }
    }
}
#define CHECK_COUNTS(db) ota_test_check_counts((db), __LINE__)

/* How many outbox rows @vehicle has in @state, of @campaign (0: any); and the payload of
 * its newest row ("" for the empty message) in @last (may be NULL). */
static inline int ota_test_outbox(struct ota_db *db, const char *vehicle, int64_t campaign,
                                  enum ota_outbox_state state, char *last, size_t lastlen)
{
    const struct ota_outbox_row *r;
    struct ota_db_iter it;
    int n = 0;

    CHECK_FATAL(ota_db_outbox_list_begin(db, vehicle, &it) == 0);
    while (ota_db_outbox_next(&it, &r) > 0) {
        if ((campaign && r->campaign != campaign) || r->state != state)
            continue;
        n++;
        if (last)
            snprintf(last, lastlen, "%.*s", (int)r->payload_len, r->payload);
    }
    ota_db_iter_end(&it);
    return n;
}

/* Events of @kind (exact). */
static inline int ota_test_events(struct ota_db *db, const char *kind, char *last_actor,
                                  size_t len)
{
    struct ota_event_filter f = { .kind = kind };
    const struct ota_event *e;
    struct ota_db_iter it;
    int n = 0;

    CHECK_FATAL(ota_db_events_begin(db, &f, &it) == 0);
    while (ota_db_events_next(&it, &e) > 0) {
        n++;
        if (last_actor)
            snprintf(last_actor, len, "%s", e->actor);
    }
    ota_db_iter_end(&it);
    return n;
}

/* ota_db_targets_deploy() for an unstaged campaign @id of artifact @sha256. */
static inline int ota_test_deploy(struct ota_db *db, int64_t id, const char *sha256, int64_t now,
                                  uint64_t *ret_installed, uint64_t *ret_pending)
{
    struct ota_campaign c = { .id = id, .rules = { .canary = "" } };

    snprintf(c.artifact, sizeof(c.artifact), "%s", sha256);
    return ota_db_targets_deploy(db, &c, now, ret_installed, ret_pending);
}
