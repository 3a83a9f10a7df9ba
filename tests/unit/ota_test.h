/* Minimal assertions for the unit tests: each failed check prints where and why, and the
 * test exits non-zero at the end (or at once with CHECK_FATAL). */
#pragma once
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int ota_test_failures;

#define CHECK(cond)                                                               \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            ota_test_failures++;                                                  \
        }                                                                         \
    } while (0)

#define CHECK_INT(got, want)                                                              \
    do {                                                                                  \
        long long g_ = (long long)(got), w_ = (long long)(want);                          \
        if (g_ != w_) {                                                                   \
            fprintf(stderr, "%s:%d: %s = %lld, want %lld\n", __FILE__, __LINE__, #got, g_, \
                    w_);                                                                  \
            ota_test_failures++;                                                          \
        }                                                                                 \
    } while (0)

#define CHECK_STR(got, want)                                                               \
    do {                                                                                   \
        const char *g_ = (got), *w_ = (want);                                              \
        if (!g_ || strcmp(g_, w_) != 0) {                                                  \
            fprintf(stderr, "%s:%d: %s = \"%s\", want \"%s\"\n", __FILE__, __LINE__, #got, \
                    g_ ? g_ : "(null)", w_);                                               \
            ota_test_failures++;                                                           \
        }                                                                                  \
    } while (0)

/* An errno-style return value for messages: "-2 (ENOENT)", or "0". Returns @buf. */
static inline const char *ota_test_rc_text(int rc, char *buf, size_t len)
{
    const char *name = rc < 0 ? strerrorname_np(-rc) : NULL;

    if (name)
        snprintf(buf, len, "%d (%s)", rc, name);
    else
        snprintf(buf, len, "%d", rc);
    return buf;
}

/* @expr returns 0 or a negative errno, and must return @want. */
#define CHECK_RC(expr, want)                                                                  \
    do {                                                                                      \
        int rc_ = (expr), want_ = (want);                                                     \
        char rc_text_[48], want_text_[48];                                                    \
        if (rc_ != want_) {                                                                   \
            fprintf(stderr, "%s:%d: %s: expected %s, got %s\n", __FILE__, __LINE__, #expr,    \
                    ota_test_rc_text(want_, want_text_, sizeof(want_text_)),                  \
                    ota_test_rc_text(rc_, rc_text_, sizeof(rc_text_)));                       \
            ota_test_failures++;                                                              \
        }                                                                                     \
    } while (0)

#define CHECK_FATAL(cond)                                                                 \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: fatal check failed: %s\n", __FILE__, __LINE__, #cond); \
            exit(1);                                                                      \
        }                                                                                 \
    } while (0)

#define TEST_DONE()                                                                \
    do {                                                                           \
        if (ota_test_failures)                                                     \
            fprintf(stderr, "%d check(s) failed\n", ota_test_failures);            \
        return ota_test_failures ? 1 : 0;                                          \
    } while (0)

/* Removes the SQLite database @path with its -wal and -shm files (missing ones are fine). */
static inline void ota_test_remove_db(const char *path)
{
    static const char *const suffix[] = { "", "-wal", "-shm" };
    char p[4096];

    for (unsigned i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
        snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
        unlink(p);
    }
}
