/* What ota_db.c needs of a database backend: connect, run one of the statements of
 * enum ota_stmt (each backend has its own SQL for each, in its own file), read the rows,
 * apply migrations. Internal to libota: ota_db.h is the interface everyone else uses.
 *
 * A backend runs one statement at a time per connection: ota_db.c reads a statement's
 * rows to the end (or resets it) before it runs another, so a backend whose client
 * library has one result in flight per connection (libpq) needs no cursors. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ota_db_stmt.h"

enum ota_db_arg_type { OTA_ARG_NULL, OTA_ARG_INT, OTA_ARG_TEXT };

/* One statement parameter, in order: $1, $2, ... (PostgreSQL) or ?1, ?2, ... (SQLite). */
struct ota_db_arg {
    enum ota_db_arg_type type;
    int64_t i;
    const char *s; /* borrowed for the call */
};

static inline struct ota_db_arg ota_db_arg_text(const char *s)
{
    return (struct ota_db_arg){ s ? OTA_ARG_TEXT : OTA_ARG_NULL, 0, s };
}

static inline struct ota_db_arg ota_db_arg_id(int64_t v)
{
    return (struct ota_db_arg){ v > 0 ? OTA_ARG_INT : OTA_ARG_NULL, v, NULL };
}

#define ARG_INT(v)  ((struct ota_db_arg){ OTA_ARG_INT, (int64_t)(v), NULL })
/* NULL text is SQL NULL */
#define ARG_TEXT(v) ota_db_arg_text(v)
#define ARG_NULL    ((struct ota_db_arg){ OTA_ARG_NULL, 0, NULL })
/* 0 stands for "none" in our structs and is SQL NULL in the row (campaign ids, times) */
#define ARG_ID(v)   ota_db_arg_id(v)

/* Errors are negative errno values: -EBUSY (locked, or a serialization failure: retry),
 * -EEXIST (a unique or check constraint), -ENOENT (a foreign key), -ENOSPC, -ENOMEM,
 * -EBADMSG (not a database, or corrupt), -EROFS, -EACCES, -ECONNRESET (the connection is gone), -EIO (anything else; errmsg() says what). */
struct ota_db_driver {
    const char *name; /* "sqlite", "postgresql" */
    /* migrations[i] brings schema version i to i + 1; *version is their count */
    const char *const *migrations;
    const unsigned *version;
    /* @where: a path (SQLite) or a postgresql:// URL. @create: make it when missing
     * (ota-admin init). -ENOENT when it does not exist and !@create. */
    int (*connect)(const char *where, bool create, void **ret_conn);
    void (*disconnect)(void *conn);
    const char *(*errmsg)(void *conn);

    /* Schema version (0 for an empty database), and one migration applied with the
     * version recorded, in one transaction. */
    int (*schema_version)(void *conn, unsigned *ret);
    int (*migrate)(void *conn, unsigned to_version, const char *sql);
    /* Prepares every statement; after migrations, before any run(). */
    int (*prepare)(void *conn);

    /* Runs statement @id with @args: 1 with the first row ready, 0 when it has no (more)
     * rows, or an error. next() steps to the following row likewise. A statement is
     * finished (reset) when a call returns 0 or an error, or by reset(). */
    int (*run)(void *conn, enum ota_stmt id, const struct ota_db_arg *args, unsigned nargs);
    int (*next)(void *conn, enum ota_stmt id);
    void (*reset)(void *conn, enum ota_stmt id);
    /* The current row's columns: NULL text for SQL NULL (valid until the next step);
     * integers are 0 for NULL. */
    const char *(*text)(void *conn, enum ota_stmt id, unsigned col);
    size_t (*text_len)(void *conn, enum ota_stmt id, unsigned col);
    int64_t (*integer)(void *conn, enum ota_stmt id, unsigned col);
    /* Rows the last run() of a changing statement changed. */
    int64_t (*changes)(void *conn, enum ota_stmt id);
    /* Whether a transaction is open on the connection. */
    bool (*in_transaction)(void *conn);
    /* A number that changes when another connection has committed a change since the
     * last call (ota-server's cache, ota-notifier's scan); NULL: not supported. */
    int (*data_version)(void *conn, int64_t *ret);
    /* The descriptor on which such news arrives, or -1; NULL: none. */
    int (*wait_fd)(void *conn);
    /* ota_db_lead(); NULL: the lead is always ours (one host). */
    int (*lead)(void *conn);
};

extern const struct ota_db_driver ota_db_sqlite_driver;
extern const struct ota_db_driver ota_db_pg_driver;

/* Why the last connect() of this thread failed, in the backend's words (a driver's
 * connect has no connection to keep them in); ota_db_open_error() reads it. */
void ota_db_set_open_error(const char *msg);

/* SQLite's own, for what only it has (ota_db.c answers -ENOTSUP on other backends). */
int ota_db_sqlite_sync_full(void *conn, bool full);
int ota_db_sqlite_cache_kib(void *conn, unsigned kib);
int ota_db_sqlite_wal_index(void *conn, const volatile void **ret);
/* Copies the database into a new SQLite file @path (ota_db_backup() names and renames it). */
int ota_db_sqlite_backup(void *conn, const char *path);
