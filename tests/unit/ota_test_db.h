/* Helpers for the database unit tests: a dump of every row (to prove a refusal changed
 * nothing), the counts invariant, and listings collected from the iterators. */
#pragma once
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include "ota_db.h"
#include "ota_test.h"

/* Every row of every table of the SQLite file @path as text, in table and rowid order
 * (sqlite3's .dump, without the CLI). New string (free()). */
static inline char *ota_test_dump(const char *path)
{
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
