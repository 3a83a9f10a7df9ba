/* One SQLite connection per server thread, opened on first use and closed when the thread ends. */
#pragma once
#include "ota_db.h"

struct srv_db;

/* On success *ret is new (free with srv_db_free() after every thread that used it has
 * ended). @path is copied. Returns 0 or -ENOMEM/-EAGAIN. */
int srv_db_new(const char *path, struct srv_db **ret);

/* This thread's connection (opened and schema-checked on first call), borrowed: it stays
 * open until the thread exits. NULL when it cannot be opened (retried next call). */
struct ota_db *srv_db_get(struct srv_db *d);

/* NULL is a no-op. */
void srv_db_free(struct srv_db *d);
