/* The bounded text buffer (ota_buf.h). */
#include "ota_buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIRST_CAP 256

void ota_buf_init(struct ota_buf *b, size_t limit)
{
    *b = (struct ota_buf){ .limit = limit };
}

void ota_buf_init_fixed(struct ota_buf *b, char *mem, size_t size)
{
    *b = (struct ota_buf){ .p = mem, .cap = size, .limit = size ? size - 1 : 0, .fixed = true };
    if (size)
        mem[0] = '\0';
}

static void fail(struct ota_buf *b, int err)
{
    if (!b->err)
        b->err = err;
}

/* Room for @want more bytes of text (and the NUL), within the limit; what it could get
 * (maybe less, maybe 0). */
static size_t reserve(struct ota_buf *b, size_t want)
{
    size_t room = b->limit - b->len, need;

    if (want > room)
        want = room;
    need = b->len + want + 1;
    if (need > b->cap && !b->fixed) {
        size_t cap = b->cap ? b->cap : FIRST_CAP;
        char *p;

        while (cap < need)
            cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        if (b->limit < SIZE_MAX && cap > b->limit + 1)
            cap = b->limit + 1;
        p = realloc(b->p, cap);
        if (!p) {
            fail(b, -ENOMEM);
            return 0;
        }
        b->p = p;
        b->cap = cap;
        b->p[b->len] = '\0';
    }
    if (b->cap == 0)
        return 0;
    return b->cap - 1 - b->len < want ? b->cap - 1 - b->len : want;
}

void ota_buf_put(struct ota_buf *b, const void *data, size_t n)
{
    size_t k = reserve(b, n);

    if (k < n && b->err != -ENOMEM)
        fail(b, -E2BIG);
    if (k == 0 || !b->p)
        return;
    memcpy(b->p + b->len, data, k);
    b->len += k;
    b->p[b->len] = '\0';
}

void ota_buf_puts(struct ota_buf *b, const char *s)
{
    ota_buf_put(b, s, strlen(s));
}

void ota_buf_vprintf(struct ota_buf *b, const char *fmt, va_list ap)
{
    char small[256], *big = NULL;
    va_list copy;
    int n;

    /* formatted aside first: a cut then keeps the leading part, as put() does */
    va_copy(copy, ap);
    n = vsnprintf(small, sizeof(small), fmt, copy);
    va_end(copy);
    if (n < 0) {
        fail(b, -EINVAL);
        return;
    }
    if ((size_t)n < sizeof(small)) {
        ota_buf_put(b, small, (size_t)n);
        return;
    }
    big = malloc((size_t)n + 1);
    if (!big) {
        fail(b, -ENOMEM);
        return;
    }
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    ota_buf_put(b, big, (size_t)n);
    free(big);
}

void ota_buf_printf(struct ota_buf *b, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    ota_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

const char *ota_buf_str(const struct ota_buf *b)
{
    return b->p && b->cap ? b->p : "";
}

int ota_buf_error(const struct ota_buf *b)
{
    return b->err;
}

void ota_buf_clear(struct ota_buf *b)
{
    b->len = 0;
    b->err = 0;
    if (b->p && b->cap)
        b->p[0] = '\0';
}

char *ota_buf_take(struct ota_buf *b, size_t *ret_len)
{
    char *p;

    if (b->fixed || b->err) {
        ota_buf_free(b);
        return NULL;
    }
    if (!b->p) { /* nothing appended: an empty text */
        b->p = calloc(1, 1);
        if (!b->p)
            return NULL;
    }
    p = b->p;
    if (ret_len)
        *ret_len = b->len;
    ota_buf_init(b, b->limit);
    return p;
}

void ota_buf_free(struct ota_buf *b)
{
    if (b->fixed) {
        ota_buf_clear(b);
        return;
    }
    free(b->p);
    ota_buf_init(b, b->limit);
}
