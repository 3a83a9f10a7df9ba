/* "Has any connection committed since I last looked?" from SQLite's wal-index header, without
 * a read transaction: the cheap half of srv_cache_sync(). srv_dbwatch.c says why it is safe. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "ota_db.h"

/* One copy of SQLite's WalIndexHdr (48 bytes, native byte order): iVersion, unused,
 * iChange, isInit/bigEndCksum/szPage, mxFrame, nPage, aFrameCksum[2], aSalt[2], aCksum[2]. */
struct srv_dbwatch_hdr {
    uint32_t w[12];
};

/* Watches one connection's wal-index; per thread, like the connection. */
struct srv_dbwatch {
    const struct ota_db *db;         /* the connection the mapping belongs to; NULL: none */
    const volatile uint32_t *shm;    /* SQLite's wal-index mapping (borrowed from db) */
};

/* Maps @db's wal-index into @w (ota_db_wal_index()); call it after a statement has run on
 * @db. @w is usable until @db is closed. Returns 0 or -ENOTSUP (@w is then detached). */
int srv_dbwatch_attach(struct srv_dbwatch *w, struct ota_db *db);

/* Reads the header as SQLite's walIndexTryHdr() does: copy 0, barrier, copy 1. Returns 0
 * with a consistent, initialised, checksummed header in *ret, -EAGAIN when the copies
 * differ (a writer is in the middle) or the header is not valid, -ENOTSUP when @w is not
 * attached to @db. */
int srv_dbwatch_read(const struct srv_dbwatch *w, const struct ota_db *db,
                     struct srv_dbwatch_hdr *ret);

/* Byte equality of two headers read by srv_dbwatch_read(). */
bool srv_dbwatch_same(const struct srv_dbwatch_hdr *a, const struct srv_dbwatch_hdr *b);
