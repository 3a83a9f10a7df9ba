/* ota-admin's run context: the configuration, the --json switch, and the helpers every
 * command uses to open the database and record its audit event. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ota_config.h"
#include "ota_db.h"

/* Exit codes of DESIGN.md: 0 done, 1 failed (message on stderr), 2 usage. */
enum adm_exit {
    ADM_EXIT_OK = 0,
    ADM_EXIT_FAIL = 1,
    ADM_EXIT_USAGE = 2,
};

struct adm_ctx {
    struct ota_config config; /* loaded file + command-line overrides */
    bool json;                /* --json: one JSON object on stdout */
    const char *command;      /* "vehicle add", for messages */
    const char *usage;        /* the command's synopsis, for usage errors */
};

/* Prints "ota-admin: <message>" on stderr. Returns ADM_EXIT_FAIL, so that a command can
 * write `return adm_fail(...)` or `r = adm_fail(...)`. */
int adm_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints "ota-admin <command>: <message>" and the command's synopsis on stderr.
 * Returns ADM_EXIT_USAGE. */
int adm_usage(const struct adm_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Checks that the "section.key" names in the NULL-terminated @keys are set.
 * Returns ADM_EXIT_OK or ADM_EXIT_FAIL (message printed). */
int adm_ctx_require(const struct adm_ctx *ctx, const char *const *keys);

/* Opens [paths] db (which must exist and carry this program's schema). On success
 * *ret_db is new: close it with ota_db_close(). Returns ADM_EXIT_OK or ADM_EXIT_FAIL
 * with a message that says what to do (run init, not a database, ...). */
int adm_ctx_open_db(const struct adm_ctx *ctx, struct ota_db **ret_db);

/* Records one admin action in the events table (actor 'admin'), inside the caller's
 * transaction. @vehicle and @detail may be NULL; @campaign 0 = none.
 * Returns 0 or -EIO. */
int adm_ctx_event(struct ota_db *db, const char *kind, const char *vehicle, int64_t campaign,
                  const char *detail);

/* Prints a message for a failed database call @what (errno-style @r) and returns
 * ADM_EXIT_FAIL. -EBUSY says the database is locked by another writer. */
int adm_db_fail(struct ota_db *db, const char *what, int r);

/* Parses a positive decimal id (campaign ids). Returns 0 or -EINVAL. */
int adm_parse_id(const char *s, int64_t *ret);

/* True if @s is 1..@max bytes of printable text (no control characters, no commas, so
 * it can sit in a campaign's target). For models, groups and campaign names. */
bool adm_label_valid(const char *s, size_t max);

#define ADM_LABEL_MAX 128
