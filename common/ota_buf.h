/* ota_buf: the one bounded text buffer of ota-origin. The Prometheus writer (ota_metrics:
 * ota-server's /metrics, ota-notifier's stats file), the access log line (srv_alog) and
 * the response bodies ota-vehicle keeps (veh_http) append to it.
 *
 * A buffer holds at most its limit of bytes, on the heap (growing as needed) or in the
 * caller's memory. An append that does not fit is cut at the limit and the buffer marked
 * -E2BIG; without memory nothing is appended and it is marked -ENOMEM. Appends after that
 * go on (a log line keeps what fits), and the caller checks ota_buf_error() once at the
 * end. The text is always NUL-terminated. Device-safe. */
#pragma once
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct ota_buf {
    char *p;      /* NULL until the first append on the heap */
    size_t len;   /* bytes of text, without the NUL */
    size_t cap;   /* bytes at p */
    size_t limit; /* most bytes of text */
    int err;      /* 0, -E2BIG (cut at the limit) or -ENOMEM */
    bool fixed;   /* p is the caller's: never grown nor freed */
};

/* On the heap, at most @limit bytes of text. */
void ota_buf_init(struct ota_buf *b, size_t limit);
/* In @mem (@size bytes, at least 1): at most @size - 1 bytes of text. */
void ota_buf_init_fixed(struct ota_buf *b, char *mem, size_t size);

void ota_buf_put(struct ota_buf *b, const void *data, size_t n);
void ota_buf_puts(struct ota_buf *b, const char *s);
/* One byte: inline while it fits (the access log builds its line a byte at a time). */
static inline void ota_buf_putc(struct ota_buf *b, char c)
{
    if (b->len + 1 < b->cap && b->len < b->limit) {
        b->p[b->len++] = c;
        b->p[b->len] = '\0';
        return;
    }
    ota_buf_put(b, &c, 1);
}
void ota_buf_printf(struct ota_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ota_buf_vprintf(struct ota_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* The text so far ("" before any append). */
const char *ota_buf_str(const struct ota_buf *b);
/* 0, or the first failure: -E2BIG (something was cut) or -ENOMEM. */
int ota_buf_error(const struct ota_buf *b);
/* Empties it (text and error); the memory is kept. */
void ota_buf_clear(struct ota_buf *b);
/* A heap buffer's text, handed over (free() it), *ret_len its length; NULL when it
 * failed (then it is freed). The buffer is empty after. */
char *ota_buf_take(struct ota_buf *b, size_t *ret_len);
/* Releases a heap buffer's memory; a fixed one is only emptied. */
void ota_buf_free(struct ota_buf *b);
