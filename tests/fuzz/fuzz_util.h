/* What every libFuzzer harness shares: the entry point's prototype, a check that aborts
 * (libFuzzer keeps the input as a crash), and exact-size copies of the input so that
 * AddressSanitizer sees any read past what the peer sent. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* An invariant the parser promises; a violation is a bug like a crash is. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__, #cond);         \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* @size bytes of @data plus a NUL, in a block of exactly that size (malloc(0) aside).
 * Aborts on allocation failure: the harness has nothing better to do. free() it. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    FUZZ_CHECK(s != NULL);
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Cuts the next line off [*@p, @end): returns its start and sets *@ret_len, including the
 * '\n' when @keep_nl (as libcurl hands header lines over); NULL at the end. */
static inline const uint8_t *fuzz_next_line(const uint8_t **p, const uint8_t *end, int keep_nl,
                                            size_t *ret_len)
{
    const uint8_t *s = *p, *nl;

    if (s >= end)
        return NULL;
    nl = memchr(s, '\n', (size_t)(end - s));
    *p = nl ? nl + 1 : end;
    *ret_len = (size_t)((nl ? (keep_nl ? nl + 1 : nl) : end) - s);
    return s;
}
