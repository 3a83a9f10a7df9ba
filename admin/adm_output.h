/* ota-admin output: aligned human tables, single JSON objects on stdout, the upload
 * progress bar on stderr, and the formatting of times and sizes they share. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

struct adm_table;

/* A table with the @ncols column titles in @headers (copied). NULL on -ENOMEM.
 * Free with adm_table_free(). */
struct adm_table *adm_table_new(const char *const *headers, size_t ncols);
/* Appends a row of ncols cells (copied; a NULL cell prints as "-"). Returns 0 or -ENOMEM. */
int adm_table_add(struct adm_table *t, const char *const *cells);
/* Prints the titles and rows with columns aligned; "(none)" when there are no rows. */
void adm_table_print(const struct adm_table *t, FILE *f);
void adm_table_free(struct adm_table *t);

/* Prints @obj as one line of JSON on stdout. @obj is borrowed. Returns 0 or -EIO. */
int adm_json_print(const json_t *obj);

/* json_t helpers that return NULL on allocation failure: a string (NULL -> null), an
 * RFC 3339 time (0 -> null). */
json_t *adm_json_str(const char *s);
json_t *adm_json_time(int64_t t);

/* Formats @t as RFC 3339 UTC into @buf (>= 21 bytes), or "-" for 0. Returns @buf. */
const char *adm_time(int64_t t, char *buf, size_t len);

/* Upload progress on stderr: a bar that redraws at most ten times a second. */
struct adm_progress {
    int64_t last_ms;
    int drawn; /* 1 once a bar was drawn, so adm_progress_end() ends the line */
};
/* Draws the bar for @done of @total bytes; @ctx is a struct adm_progress. */
void adm_progress_cb(uint64_t done, uint64_t total, void *ctx);
/* Ends the progress line, if one was drawn. */
void adm_progress_end(struct adm_progress *p);

/* Prints @obj like adm_json_print() and releases it (taken always; NULL means an
 * allocation failed). Returns ADM_EXIT_OK, or ADM_EXIT_FAIL with a message. */
int adm_json_emit(json_t *obj);
