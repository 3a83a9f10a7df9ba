/* ota-admin list commands: the rows of a database listing gathered into a table, or into
 * a JSON array printed as {"<key>":[...]} with --json. */
#pragma once
#include <stddef.h>
#include <jansson.h>
#include "adm_ctx.h"
#include "adm_output.h"

/* The rows gathered so far: exactly one of @table and @array is set. */
struct adm_list {
    struct adm_table *table; /* without --json */
    json_t *array;           /* with --json */
    const void *arg;         /* the command's own (a filter), borrowed */
};

struct adm_list_spec {
    const char *const *head; /* the table's column titles */
    size_t ncols;
    const char *key;  /* the JSON key of the array: "vehicles" */
    const char *what; /* for a failed database call: "listing vehicles" */
};

/* Runs the database iteration, calling a row callback with @l as its context (the
 * callback returns adm_list_append() or adm_table_add()). Returns 0 or negative errno. */
typedef int adm_list_fill_fn(struct ota_db *db, struct adm_list *l);

/* For row callbacks: appends @row to l->array. @row is taken always; NULL means an
 * allocation failed. Returns 0 or -ENOMEM. */
int adm_list_append(struct adm_list *l, json_t *row);

/* Makes the array (--json) or the table of @spec in @l, with l->arg = @arg, and runs
 * @fill. @db is borrowed. On any return @l holds what was made: release it with
 * adm_list_release(). Returns ADM_EXIT_OK or ADM_EXIT_FAIL (message printed). */
int adm_list_fill(const struct adm_ctx *ctx, struct ota_db *db, const struct adm_list_spec *spec,
                  adm_list_fill_fn *fill, const void *arg, struct adm_list *l);

/* Frees the table and the array of @l. */
void adm_list_release(struct adm_list *l);

/* A whole list command after its arguments are parsed: opens the database, fills the
 * list and prints {"<key>":[...]} or the table. @arg is borrowed (see adm_list_fill()).
 * Returns an enum adm_exit. */
int adm_list_run(const struct adm_ctx *ctx, const struct adm_list_spec *spec,
                 adm_list_fill_fn *fill, const void *arg);
