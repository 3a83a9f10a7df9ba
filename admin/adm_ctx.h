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
    char actor[128];          /* who runs this, as events name it (ota_actor()) */
};

/* --json, as parsed: failures then print {"error":"failed"|"usage","message":...} on
 * stdout too, so a script reading stdout learns why. */
extern bool arg_json;

/* Prints "ota-admin: <message>" on stderr (and the JSON error on stdout with --json).
 * Returns ADM_EXIT_FAIL, so that a command can write `return adm_fail(...)`. */
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
/* The same without the schema check (ota-admin backup copies any version). */
int adm_ctx_open_db_any_schema(const struct adm_ctx *ctx, struct ota_db **ret_db);

/* Prints a message for a failed database call @what (errno-style @r) and returns
 * ADM_EXIT_FAIL. -EBUSY says the database is locked by another writer. */
int adm_db_fail(struct ota_db *db, const char *what, int r);

/* The failure of a domain call (ota_campaign_*, ota_fleet_*, ota_publish_*): its reason
 * @err when it gave one, else adm_db_fail(). Returns ADM_EXIT_FAIL. */
int adm_domain_fail(struct ota_db *db, const char *what, int r, const char *err);

/* Parses a positive decimal id (campaign ids). Returns 0 or -EINVAL. */
int adm_parse_id(const char *s, int64_t *ret);
