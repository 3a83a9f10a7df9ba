/* One SQLite connection and answer cache per server thread, made on first use and freed when
 * the thread ends. */
#pragma once
#include "ota_db.h"
#include "srv_cache.h"

struct srv_db;

/* On success *ret is new (free with srv_db_free() after every thread that used it has
 * ended). @path is copied. Returns 0 or -ENOMEM/-EAGAIN. */
int srv_db_new(const char *path, struct srv_db **ret);

/* This thread's connection (opened and schema-checked on first call), borrowed: it stays
 * open until the thread exits. NULL when it cannot be opened (retried next call). */
struct ota_db *srv_db_get(struct srv_db *d);

/* This thread's answer cache (made on first call), borrowed like srv_db_get()'s
 * connection; NULL on -ENOMEM (the caller reads the database). */
struct srv_cache *srv_db_cache(struct srv_db *d);

/* NULL is a no-op. */
void srv_db_free(struct srv_db *d);
