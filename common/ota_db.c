/* The database's functions over a backend (ota_db_driver.h): each runs its statements with
 * typed arguments and maps rows to structs through one row-fetch helper. The invariants
 * the schema cannot state are kept here, in the same transaction as the change: every
 * deployment state change goes through deployment_move(), which keeps the campaign's
 * counts by state. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ota_db.h"
#include "ota_db_driver.h"
#include "ota_util.h"

struct ota_db {
    const struct ota_db_driver *drv;
    void *c;
};

#define NARGS(a) (sizeof(a) / sizeof((a)[0]))
/* ARGS(x, y): a compound-literal array and its length, for the helpers below */
#define ARGS(...)                                                     \
    (const struct ota_db_arg[]){ __VA_ARGS__ },                       \
        (unsigned)NARGS(((const struct ota_db_arg[]){ __VA_ARGS__ }))
#define NOARGS NULL, 0

/* ---- names ----------------------------------------------------------------------------- */

static const char *const campaign_states[OTA_CAMPAIGN_STATE_COUNT] = {
    "created", "starting", "running", "paused", "cancelled", "finished"
};
static const char *const target_kinds[] = { "vehicles", "group", "model", "all", "attributes" };
static const char *const outbox_states[] = { "held", "pending", "published", "dropped" };

const char *ota_campaign_state_name(enum ota_campaign_state s)
{
    return (unsigned)s < OTA_CAMPAIGN_STATE_COUNT ? campaign_states[s] : "unknown";
}

int ota_campaign_state_parse(const char *name, enum ota_campaign_state *ret)
{
    for (unsigned i = 0; name && i < OTA_CAMPAIGN_STATE_COUNT; i++)
        if (strcmp(name, campaign_states[i]) == 0) {
            *ret = (enum ota_campaign_state)i;
            return 0;
        }
    return -EINVAL;
}

bool ota_campaign_state_open(enum ota_campaign_state s)
{
    return s == OTA_CAMPAIGN_CREATED || s == OTA_CAMPAIGN_STARTING || s == OTA_CAMPAIGN_RUNNING ||
           s == OTA_CAMPAIGN_PAUSED;
}

const char *ota_target_kind_name(enum ota_target_kind k)
{
    return (unsigned)k < NARGS(target_kinds) ? target_kinds[k] : "unknown";
}

uint64_t ota_campaign_unfinished(const struct ota_campaign *c)
{
    uint64_t n = 0;

    for (unsigned s = 0; s < OTA_DEPLOY_STATE_COUNT; s++)
        if (!ota_deploy_state_final((enum ota_deploy_state)s))
            n += c->counts[s];
    return n;
}

/* ---- plumbing: run a statement, read its rows ------------------------------------------ */

/* The current row of a statement, for the fill functions. */
struct row {
    struct ota_db *db;
    enum ota_stmt id;
};

static int64_t col_int(const struct row *r, unsigned col)
{
    return r->db->drv->integer(r->db->c, r->id, col);
}

/* A text column; "" for SQL NULL. Valid until the statement steps. */
static const char *col_str(const struct row *r, unsigned col)
{
    const char *t = r->db->drv->text(r->db->c, r->id, col);

    return t ? t : "";
}

/* NULL stays NULL (optional fields of events). */
static const char *col_opt(const struct row *r, unsigned col)
{
    return r->db->drv->text(r->db->c, r->id, col);
}

static void col_copy(const struct row *r, unsigned col, char *buf, size_t len)
{
    snprintf(buf, len, "%s", col_str(r, col));
}

/* Replaces *@dst with a copy of the column; -ENOMEM. */
static int col_dup(const struct row *r, unsigned col, char **dst)
{
    char *s = strdup(col_str(r, col));

    if (!s)
        return -ENOMEM;
    free(*dst);
    *dst = s;
    return 0;
}

static int enum_of(const char *const *names, unsigned n, const char *s, int *ret)
{
    for (unsigned i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0) {
            *ret = (int)i;
            return 0;
        }
    return -EIO; /* a value the schema's CHECK should have refused: a foreign database */
}

/* Runs @id to completion: a changing statement, or one whose rows do not matter.
 * *ret_changes (may be NULL): rows changed. */
static int exec(struct ota_db *db, enum ota_stmt id, const struct ota_db_arg *a, unsigned n,
                int64_t *ret_changes)
{
    int r = db->drv->run(db->c, id, a, n);

    if (r > 0) {
        db->drv->reset(db->c, id);
        r = 0;
    }
    if (r == 0 && ret_changes)
        *ret_changes = db->drv->changes(db->c, id);
    return r;
}

/* Like exec(), and -ENOENT when it changed nothing. */
static int exec_one(struct ota_db *db, enum ota_stmt id, const struct ota_db_arg *a, unsigned n)
{
    int64_t changed = 0;
    int r = exec(db, id, a, n, &changed);

    return r < 0 ? r : changed > 0 ? 0 : -ENOENT;
}

typedef int fill_fn(const struct row *r, void *out);

/* The one row-fetch helper: runs @id, maps its first row with @fill into @out, and resets
 * the statement on every path. -ENOENT when there is no row. */
static int fetch(struct ota_db *db, enum ota_stmt id, const struct ota_db_arg *a, unsigned n,
                 fill_fn *fill, void *out)
{
    struct row row = { db, id };
    int r = db->drv->run(db->c, id, a, n);

    if (r == 0)
        return -ENOENT;
    if (r < 0)
        return r;
    r = fill(&row, out);
    db->drv->reset(db->c, id);
    return r;
}

static int fill_int(const struct row *r, void *out)
{
    *(int64_t *)out = col_int(r, 0);
    return 0;
}

/* The first column of the first row as an integer. */
static int fetch_int(struct ota_db *db, enum ota_stmt id, const struct ota_db_arg *a,
                     unsigned n, int64_t *ret)
{
    return fetch(db, id, a, n, fill_int, ret);
}

/* ---- iterators ----------------------------------------------------------------------- */

static int iter_begin(struct ota_db_iter *it, struct ota_db *db, enum ota_stmt id,
                      const struct ota_db_arg *a, unsigned n, size_t cur_size,
                      void (*cur_clear)(void *))
{
    memset(it, 0, sizeof(*it));
    it->db = db;
    it->stmt = id;
    it->cur_clear = cur_clear;
    it->cur = calloc(1, cur_size);
    if (!it->cur)
        return -ENOMEM;
    it->pending = db->drv->run(db->c, id, a, n);
    return it->pending < 0 ? it->pending : 0;
}

/* The next row through @fill into it->cur: 1, 0 at the end, or an error. The statement
 * steps on the following call, so what @fill borrowed from the row stays valid until
 * then. */
static int iter_next(struct ota_db_iter *it, fill_fn *fill)
{
    struct row row = { it->db, it->stmt };
    int r;

    if (!it->db)
        return it->pending;
    if (it->consumed) {
        it->consumed = false;
        it->pending = it->db->drv->next(it->db->c, it->stmt);
    }
    if (it->pending <= 0)
        return it->pending;
    if (it->cur_clear)
        it->cur_clear(it->cur);
    r = fill(&row, it->cur);
    if (r < 0) {
        ota_db_iter_end(it);
        it->pending = r;
        return r;
    }
    it->consumed = true;
    return 1;
}

void ota_db_iter_end(struct ota_db_iter *it)
{
    if (it->db && it->pending > 0)
        it->db->drv->reset(it->db->c, it->stmt);
    if (it->cur && it->cur_clear)
        it->cur_clear(it->cur);
    free(it->cur);
    it->cur = NULL;
    it->pending = 0;
    it->db = NULL;
}

/* ---- connection and schema ----------------------------------------------------------- */

static __thread char open_error[512];

void ota_db_set_open_error(const char *msg)
{
    snprintf(open_error, sizeof(open_error), "%s", msg ? msg : "");
    for (size_t n = strlen(open_error); n > 0 && (open_error[n - 1] == '\n' || open_error[n - 1] == ' ');)
        open_error[--n] = '\0';
}

const char *ota_db_open_error(void)
{
    return open_error;
}

bool ota_db_is_url(const char *where)
{
    return where && (strncmp(where, "postgresql://", 13) == 0 || strncmp(where, "postgres://", 11) == 0);
}

const char *ota_db_display(const char *where, char *buf, size_t len)
{
    const char *scheme = where ? strstr(where, "://") : NULL;
    const char *at, *colon;

    if (!scheme) {
        snprintf(buf, len, "%s", where ? where : "");
        return buf;
    }
    at = strchr(scheme + 3, '@');
    colon = memchr(scheme + 3, ':', at ? (size_t)(at - scheme - 3) : 0);
    if (!at || !colon) {
        snprintf(buf, len, "%s", where);
        return buf;
    }
    snprintf(buf, len, "%.*s:***%s", (int)(colon - where), where, at);
    return buf;
}

const char *ota_db_open_explain(int r, const char *where, char *buf, size_t len)
{
    char shown[512];
    const char *why = ota_db_open_error();

    ota_db_display(where, shown, sizeof(shown));
    switch (r) {
    case -ENOENT:
        snprintf(buf, len, "database %s does not exist (create it, e.g. createdb, then run "
                           "ota-admin init): %s", shown, why);
        break;
    case -EINVAL:
        snprintf(buf, len, "%s is not a valid PostgreSQL URL: %s", shown, why);
        break;
    case -EACCES:
        snprintf(buf, len, "%s refused the login: %s", shown, why);
        break;
    default:
        snprintf(buf, len, "cannot connect to %s: %s", shown, *why ? why : strerror(-r));
        break;
    }
    return buf;
}

int ota_db_open(const char *where, int flags, struct ota_db **ret_db)
{
    struct ota_db *db = calloc(1, sizeof(*db));
    int r;

    if (!db)
        return -ENOMEM;
    open_error[0] = '\0';
    db->drv = ota_db_is_url(where) ? &ota_db_pg_driver : &ota_db_sqlite_driver;
    r = db->drv->connect(where, flags & OTA_DB_CREATE, &db->c);
    if (r < 0) {
        free(db);
        return r;
    }
    *ret_db = db;
    return 0;
}

void ota_db_close(struct ota_db *db)
{
    if (!db)
        return;
    db->drv->disconnect(db->c);
    free(db);
}

const char *ota_db_errmsg(struct ota_db *db)
{
    return db && db->c ? db->drv->errmsg(db->c) : "no database";
}

unsigned ota_db_schema_target(const struct ota_db *db)
{
    return *db->drv->version;
}

int ota_db_migrate(struct ota_db *db)
{
    unsigned v;
    int r;

    if ((r = db->drv->schema_version(db->c, &v)) < 0)
        return r;
    if (v > *db->drv->version)
        return -EPROTO;
    for (; v < *db->drv->version; v++)
        if ((r = db->drv->migrate(db->c, v + 1, db->drv->migrations[v])) < 0)
            return r;
    return db->drv->prepare(db->c);
}

int ota_db_check_schema(struct ota_db *db)
{
    unsigned v;
    int r;

    if ((r = db->drv->schema_version(db->c, &v)) < 0)
        return r;
    if (v < *db->drv->version)
        return -ESTALE;
    if (v > *db->drv->version)
        return -EPROTO;
    return db->drv->prepare(db->c);
}

int ota_db_begin(struct ota_db *db)
{
    return exec(db, ST_BEGIN, NOARGS, NULL);
}

int ota_db_commit(struct ota_db *db)
{
    return exec(db, ST_COMMIT, NOARGS, NULL);
}

void ota_db_rollback(struct ota_db *db)
{
    if (db->drv->in_transaction(db->c))
        (void)exec(db, ST_ROLLBACK, NOARGS, NULL);
}

int ota_db_data_version(struct ota_db *db, int64_t *ret)
{
    if (!db->drv->data_version)
        return -ENOTSUP;
    return db->drv->data_version(db->c, ret);
}

int ota_db_wait_fd(struct ota_db *db)
{
    return db->drv->wait_fd ? db->drv->wait_fd(db->c) : -1;
}

int ota_db_lead(struct ota_db *db)
{
    return db->drv->lead ? db->drv->lead(db->c) : 1;
}

int ota_db_sync_full(struct ota_db *db, bool full)
{
    if (db->drv != &ota_db_sqlite_driver)
        return -ENOTSUP;
    return ota_db_sqlite_sync_full(db->c, full);
}

int ota_db_backup(struct ota_db *db, const char *path)
{
    char tmp[4096];
    int fd, r;

    if (db->drv != &ota_db_sqlite_driver)
        return -ENOTSUP;
    if (access(path, F_OK) == 0)
        return -EEXIST;
    if (snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    unlink(tmp); /* a crashed run's */
    /* made here for a true errno (SQLite says only "cannot open") and mode 0600: an
     * empty file is a new database to SQLite */
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    close(fd);
    r = ota_db_sqlite_backup(db->c, tmp);
    if (r == 0)
        r = ota_fsync_path(tmp, O_RDONLY);
    /* link() rather than rename(): a file that appeared at @path meanwhile is kept */
    if (r == 0 && link(tmp, path) < 0)
        r = -errno;
    unlink(tmp);
    if (r == 0) {
        snprintf(tmp, sizeof(tmp), "%s", path); /* fits: tmp held more */
        r = ota_fsync_path(dirname(tmp), O_RDONLY | O_DIRECTORY);
    }
    return r;
}

int ota_db_cache_kib(struct ota_db *db, unsigned kib)
{
    if (db->drv != &ota_db_sqlite_driver)
        return -ENOTSUP;
    return ota_db_sqlite_cache_kib(db->c, kib);
}

int ota_db_wal_index(struct ota_db *db, const volatile void **ret)
{
    if (db->drv != &ota_db_sqlite_driver)
        return -ENOTSUP;
    return ota_db_sqlite_wal_index(db->c, ret);
}

/* ---- vehicles and edges ---------------------------------------------------------------- */

static void vehicle_clear(void *p)
{
    struct ota_vehicle *v = p;

    free(v->model);
    free(v->group);
    free(v->attributes);
    free(v->installed_version);
    v->model = v->group = v->attributes = v->installed_version = NULL;
}

void ota_vehicle_free(struct ota_vehicle *v)
{
    if (!v)
        return;
    vehicle_clear(v);
    free(v);
}

/* id, model, grp, attributes, state, created_at, last_seen, installed_sha256,
 * installed_version, installed_at */
static int vehicle_fill(const struct row *r, void *out)
{
    struct ota_vehicle *v = out;
    int ret;

    col_copy(r, 0, v->id, sizeof(v->id));
    if ((ret = col_dup(r, 1, &v->model)) < 0 || (ret = col_dup(r, 2, &v->group)) < 0 ||
        (ret = col_dup(r, 3, &v->attributes)) < 0 || (ret = col_dup(r, 8, &v->installed_version)) < 0)
        return ret;
    v->revoked = strcmp(col_str(r, 4), "revoked") == 0;
    v->created_at = col_int(r, 5);
    v->last_seen = col_int(r, 6);
    col_copy(r, 7, v->installed_sha256, sizeof(v->installed_sha256));
    v->installed_at = col_int(r, 9);
    return 0;
}

int ota_db_vehicle_add(struct ota_db *db, const char *id, const char *model, const char *group,
                       const char *attributes)
{
    struct ota_edge e;
    int r = ota_db_edge_get(db, id, &e); /* vehicles and edges share one id space */

    if (r == 0)
        return -EEXIST;
    if (r != -ENOENT)
        return r;
    return exec_one(db, ST_VEHICLE_ADD,
                    ARGS(ARG_TEXT(id), ARG_TEXT(model ? model : ""), ARG_TEXT(group ? group : ""),
                         ARG_TEXT(attributes ? attributes : "{}"), ARG_INT(ota_now())));
}

/* A struct filled by @fill from the row of @id, new in *ret (freed with @free_fn on error). */
static int fetch_new(struct ota_db *db, enum ota_stmt id, const struct ota_db_arg *a, unsigned n,
                     size_t size, fill_fn *fill, void (*free_fn)(void *), void **ret)
{
    void *obj = calloc(1, size);
    int r;

    if (!obj)
        return -ENOMEM;
    r = fetch(db, id, a, n, fill, obj);
    if (r < 0) {
        free_fn(obj);
        return r;
    }
    *ret = obj;
    return 0;
}

static void vehicle_free_p(void *p)
{
    ota_vehicle_free(p);
}

int ota_db_vehicle_get(struct ota_db *db, const char *id, struct ota_vehicle **ret)
{
    return fetch_new(db, ST_VEHICLE_GET, ARGS(ARG_TEXT(id)), sizeof(**ret), vehicle_fill,
                     vehicle_free_p, (void **)ret);
}

int ota_db_vehicles_begin(struct ota_db *db, const struct ota_vehicle_filter *f,
                          struct ota_db_iter *it)
{
    const struct ota_vehicle_filter none = { 0 };

    if (!f)
        f = &none;
    return iter_begin(it, db, ST_VEHICLE_LIST,
                      ARGS(ARG_TEXT(f->group), ARG_TEXT(f->model), ARG_TEXT(f->version)),
                      sizeof(struct ota_vehicle), vehicle_clear);
}

int ota_db_vehicles_next(struct ota_db_iter *it, const struct ota_vehicle **ret)
{
    int r = iter_next(it, vehicle_fill);

    if (r > 0)
        *ret = it->cur;
    return r;
}

int ota_db_vehicle_set_revoked(struct ota_db *db, const char *id, bool revoked)
{
    return exec_one(db, ST_VEHICLE_SET_STATE,
                    ARGS(ARG_TEXT(id), ARG_TEXT(revoked ? "revoked" : "active")));
}

int ota_db_vehicle_set(struct ota_db *db, const char *id, const char *model, const char *group,
                       const char *attributes)
{
    return exec_one(db, ST_VEHICLE_SET,
                    ARGS(ARG_TEXT(id), ARG_TEXT(model), ARG_TEXT(group), ARG_TEXT(attributes)));
}

int ota_db_vehicle_touch(struct ota_db *db, const char *id, int64_t now)
{
    return exec_one(db, ST_VEHICLE_TOUCH, ARGS(ARG_TEXT(id), ARG_INT(now)));
}

int ota_db_vehicle_installed(struct ota_db *db, const char *id, const char *sha256,
                             const char *version, int64_t now)
{
    return exec_one(db, ST_VEHICLE_INSTALLED,
                    ARGS(ARG_TEXT(id), ARG_TEXT(sha256), ARG_TEXT(version ? version : ""),
                         ARG_INT(now)));
}

/* name, state, created_at */
static int edge_fill(const struct row *r, void *out)
{
    struct ota_edge *e = out;

    col_copy(r, 0, e->name, sizeof(e->name));
    e->revoked = strcmp(col_str(r, 1), "revoked") == 0;
    e->created_at = col_int(r, 2);
    return 0;
}

int ota_db_edge_add(struct ota_db *db, const char *name)
{
    int r = exec_one(db, ST_EDGE_ADD, ARGS(ARG_TEXT(name), ARG_INT(ota_now())));

    return r == -ENOENT ? -EEXIST : r; /* nothing inserted: a vehicle has that id */
}

int ota_db_edge_get(struct ota_db *db, const char *name, struct ota_edge *ret)
{
    return fetch(db, ST_EDGE_GET, ARGS(ARG_TEXT(name)), edge_fill, ret);
}

int ota_db_edges_begin(struct ota_db *db, struct ota_db_iter *it)
{
    return iter_begin(it, db, ST_EDGE_LIST, NOARGS, sizeof(struct ota_edge), NULL);
}

int ota_db_edges_next(struct ota_db_iter *it, const struct ota_edge **ret)
{
    int r = iter_next(it, edge_fill);

    if (r > 0)
        *ret = it->cur;
    return r;
}

int ota_db_edge_set_revoked(struct ota_db *db, const char *name, bool revoked)
{
    return exec_one(db, ST_EDGE_SET_STATE,
                    ARGS(ARG_TEXT(name), ARG_TEXT(revoked ? "revoked" : "active")));
}

struct client {
    int kind;
    bool revoked;
    int64_t last_seen;
};

/* kind (1 vehicle, 2 edge), state, last_seen */
static int client_fill(const struct row *r, void *out)
{
    struct client *c = out;

    c->kind = (int)col_int(r, 0);
    c->revoked = strcmp(col_str(r, 1), "active") != 0;
    c->last_seen = col_int(r, 2);
    return 0;
}

int ota_db_client_lookup(struct ota_db *db, const char *id, enum ota_client_kind *ret_kind,
                         int64_t *ret_last_seen)
{
    struct client c;
    int r = fetch(db, ST_CLIENT_LOOKUP, ARGS(ARG_TEXT(id)), client_fill, &c);

    if (r < 0)
        return r;
    if (c.revoked)
        return -EACCES;
    *ret_kind = c.kind == 1 ? OTA_CLIENT_VEHICLE : OTA_CLIENT_EDGE;
    if (ret_last_seen)
        *ret_last_seen = c.last_seen;
    return 0;
}

/* ---- artifacts ------------------------------------------------------------------------- */

static void artifact_clear(void *p)
{
    struct ota_artifact *a = p;

    free(a->name);
    free(a->version);
    free(a->hw);
    free(a->signature);
    a->name = a->version = a->hw = a->signature = NULL;
}

void ota_artifact_free(struct ota_artifact *a)
{
    if (!a)
        return;
    artifact_clear(a);
    free(a);
}

static void artifact_free_p(void *p)
{
    ota_artifact_free(p);
}

/* sha256, sha1, md5, size, name, version, hw, signature, created_at, deleted_at, public */
static int artifact_fill(const struct row *r, void *out)
{
    struct ota_artifact *a = out;
    int ret;

    col_copy(r, 0, a->sha256, sizeof(a->sha256));
    col_copy(r, 1, a->sha1, sizeof(a->sha1));
    col_copy(r, 2, a->md5, sizeof(a->md5));
    a->size = (uint64_t)col_int(r, 3);
    if ((ret = col_dup(r, 4, &a->name)) < 0 || (ret = col_dup(r, 5, &a->version)) < 0 ||
        (ret = col_dup(r, 6, &a->hw)) < 0 || (ret = col_dup(r, 7, &a->signature)) < 0)
        return ret;
    a->created_at = col_int(r, 8);
    a->deleted_at = col_int(r, 9);
    a->is_public = col_int(r, 10) != 0;
    return 0;
}

int ota_db_artifact_insert(struct ota_db *db, const struct ota_artifact *a)
{
    if (a->size > INT64_MAX)
        return -EINVAL;
    return exec(db, ST_ARTIFACT_INSERT,
                ARGS(ARG_TEXT(a->sha256), ARG_TEXT(a->sha1), ARG_TEXT(a->md5),
                     ARG_INT(a->size), ARG_TEXT(a->name), ARG_TEXT(a->version),
                     ARG_TEXT(a->hw ? a->hw : ""), ARG_TEXT(a->signature),
                     ARG_INT(a->created_at), ARG_INT(a->is_public)),
                NULL);
}

int ota_db_artifact_get(struct ota_db *db, const char *sha256, struct ota_artifact **ret)
{
    return fetch_new(db, ST_ARTIFACT_GET, ARGS(ARG_TEXT(sha256)), sizeof(**ret), artifact_fill,
                     artifact_free_p, (void **)ret);
}

int ota_db_artifacts_begin(struct ota_db *db, bool deleted, struct ota_db_iter *it)
{
    return iter_begin(it, db, ST_ARTIFACT_LIST, ARGS(ARG_INT(deleted)),
                      sizeof(struct ota_artifact), artifact_clear);
}

int ota_db_artifacts_next(struct ota_db_iter *it, const struct ota_artifact **ret)
{
    int r = iter_next(it, artifact_fill);

    if (r > 0)
        *ret = it->cur;
    return r;
}

int ota_db_artifact_in_use(struct ota_db *db, const char *sha256, uint64_t *ret)
{
    int64_t n = 0;
    int r = fetch_int(db, ST_ARTIFACT_IN_USE, ARGS(ARG_TEXT(sha256)), &n);

    if (r == 0)
        *ret = (uint64_t)n;
    return r;
}

int ota_db_artifact_delete(struct ota_db *db, const char *sha256, int64_t now)
{
    return exec_one(db, ST_ARTIFACT_DELETE, ARGS(ARG_TEXT(sha256), ARG_INT(now)));
}

int ota_db_artifact_revive(struct ota_db *db, const char *sha256)
{
    return exec_one(db, ST_ARTIFACT_REVIVE, ARGS(ARG_TEXT(sha256)));
}

int ota_db_artifact_set_public(struct ota_db *db, const char *sha256, bool is_public)
{
    return exec_one(db, ST_ARTIFACT_SET_PUBLIC, ARGS(ARG_TEXT(sha256), ARG_INT(is_public)));
}

static int fill_dup(const struct row *r, void *out)
{
    return col_dup(r, 0, (char **)out);
}

int ota_db_artifact_any_signature(struct ota_db *db, char **ret)
{
    char *s = NULL;
    int r = fetch(db, ST_ARTIFACT_SIGNED, NOARGS, fill_dup, &s);

    if (r == 0)
        *ret = s;
    else
        free(s);
    return r;
}

/* ---- campaigns ------------------------------------------------------------------------- */

static void campaign_clear(void *p)
{
    struct ota_campaign *c = p;

    free(c->name);
    free(c->target);
    free(c->rules.stages);
    free(c->rules.window);
    free(c->rules.canary);
    c->name = c->target = c->rules.stages = c->rules.window = c->rules.canary = NULL;
}

void ota_campaign_free(struct ota_campaign *c)
{
    if (!c)
        return;
    campaign_clear(c);
    free(c);
}

static void campaign_free_p(void *p)
{
    ota_campaign_free(p);
}

/* id, name, artifact, target_kind, target, state, created_at, started_at, updated_at,
 * the counts in enum ota_deploy_state order (9..15), the rules (16..25: stages,
 * success_bp, max_failures, max_failures_pct, min_finished, timeout_s, start_at, win,
 * canary, manual), the rollout state (26..32: stage_count, stage_open, waiting,
 * offering, announce_due, announce_from, announce_cursor) */
static int campaign_fill(const struct row *r, void *out)
{
    struct ota_campaign *c = out;
    int kind, state, ret;

    c->id = col_int(r, 0);
    if ((ret = col_dup(r, 1, &c->name)) < 0 || (ret = col_dup(r, 4, &c->target)) < 0)
        return ret;
    col_copy(r, 2, c->artifact, sizeof(c->artifact));
    if ((ret = enum_of(target_kinds, NARGS(target_kinds), col_str(r, 3), &kind)) < 0 ||
        (ret = enum_of(campaign_states, OTA_CAMPAIGN_STATE_COUNT, col_str(r, 5), &state)) < 0)
        return ret;
    c->target_kind = (enum ota_target_kind)kind;
    c->state = (enum ota_campaign_state)state;
    c->created_at = col_int(r, 6);
    c->started_at = col_int(r, 7);
    c->updated_at = col_int(r, 8);
    for (unsigned s = 0; s < OTA_DEPLOY_STATE_COUNT; s++)
        c->counts[s] = (uint64_t)col_int(r, 9 + s);
    if ((ret = col_dup(r, 16, &c->rules.stages)) < 0 || (ret = col_dup(r, 23, &c->rules.window)) < 0 ||
        (ret = col_dup(r, 24, &c->rules.canary)) < 0)
        return ret;
    c->rules.success_bp = (uint32_t)col_int(r, 17);
    c->rules.max_failures = (uint64_t)col_int(r, 18);
    c->rules.max_failures_pct = col_int(r, 19) != 0;
    c->rules.min_finished = (uint64_t)col_int(r, 20);
    c->rules.timeout_s = col_int(r, 21);
    c->rules.start_at = col_int(r, 22);
    c->rules.manual = col_int(r, 25) != 0;
    c->stage_count = (unsigned)col_int(r, 26);
    c->stage_open = (unsigned)col_int(r, 27);
    c->waiting = col_int(r, 28) != 0;
    c->offering = col_int(r, 29) != 0;
    c->announce_due = col_int(r, 30) != 0;
    c->announce_from = (unsigned)col_int(r, 31);
    col_copy(r, 32, c->announce_cursor, sizeof(c->announce_cursor));
    return 0;
}

int ota_db_campaign_insert(struct ota_db *db, const char *name, const char *artifact,
                           enum ota_target_kind kind, const char *target, int64_t now,
                           int64_t *ret_id)
{
    int64_t id = 0;
    int r = fetch_int(db, ST_CAMPAIGN_INSERT,
                      ARGS(ARG_TEXT(name), ARG_TEXT(artifact), ARG_TEXT(ota_target_kind_name(kind)),
                           ARG_TEXT(target ? target : ""), ARG_INT(now)),
                      &id);

    if (r == 0 && ret_id)
        *ret_id = id;
    return r;
}

int ota_db_campaign_get(struct ota_db *db, int64_t id, struct ota_campaign **ret)
{
    return fetch_new(db, ST_CAMPAIGN_GET, ARGS(ARG_INT(id)), sizeof(**ret), campaign_fill,
                     campaign_free_p, (void **)ret);
}

int ota_db_campaigns_begin(struct ota_db *db, struct ota_db_iter *it)
{
    return iter_begin(it, db, ST_CAMPAIGN_LIST, NOARGS, sizeof(struct ota_campaign),
                      campaign_clear);
}

int ota_db_campaigns_next(struct ota_db_iter *it, const struct ota_campaign **ret)
{
    int r = iter_next(it, campaign_fill);

    if (r > 0)
        *ret = it->cur;
    return r;
}

int ota_db_campaign_set_state(struct ota_db *db, int64_t id, enum ota_campaign_state s,
                              int64_t now)
{
    return exec_one(db, ST_CAMPAIGN_SET_STATE,
                    ARGS(ARG_INT(id), ARG_TEXT(ota_campaign_state_name(s)), ARG_INT(now)));
}

static int fill_text_id(const struct row *r, void *out)
{
    snprintf(out, OTA_ID_MAX + 1, "%s", col_str(r, 0));
    return 0;
}

int ota_db_campaigns_open_begin(struct ota_db *db, struct ota_db_iter *it)
{
    return iter_begin(it, db, ST_CAMPAIGN_LIST_OPEN, NOARGS, sizeof(struct ota_campaign),
                      campaign_clear);
}

int ota_db_campaign_set_rules(struct ota_db *db, int64_t id, const struct ota_campaign_rules *r)
{
    return exec_one(db, ST_CAMPAIGN_SET_RULES,
                    ARGS(ARG_INT(id), ARG_TEXT(r->stages ? r->stages : ""), ARG_INT(r->success_bp),
                         ARG_INT(r->max_failures), ARG_INT(r->max_failures_pct),
                         ARG_INT(r->min_finished), ARG_INT(r->timeout_s), ARG_INT(r->start_at),
                         ARG_TEXT(r->window ? r->window : ""), ARG_TEXT(r->canary ? r->canary : ""),
                         ARG_INT(r->manual)));
}

int ota_db_campaign_set_rollout(struct ota_db *db, int64_t id, unsigned stage_count,
                                unsigned stage_open, bool waiting, bool offering)
{
    return exec_one(db, ST_CAMPAIGN_SET_ROLLOUT,
                    ARGS(ARG_INT(id), ARG_INT(stage_count), ARG_INT(stage_open), ARG_INT(waiting),
                         ARG_INT(offering)));
}

int ota_db_campaign_announce_request(struct ota_db *db, int64_t id, unsigned from)
{
    return exec_one(db, ST_CAMPAIGN_ANNOUNCE_REQUEST, ARGS(ARG_INT(id), ARG_INT(from)));
}

int ota_db_campaign_announce_end(struct ota_db *db, int64_t id)
{
    return exec_one(db, ST_ANNOUNCE_CURSOR, ARGS(ARG_INT(id), ARG_NULL));
}

int ota_db_campaign_announce_batch(struct ota_db *db, const struct ota_campaign *c,
                                   int64_t payload_id, unsigned limit, int64_t now,
                                   uint64_t *ret_n, bool *ret_done)
{
    char end[OTA_ID_MAX + 1] = "";
    int64_t n = 0;
    int r;

    if (limit == 0)
        return -EINVAL;
    r = fetch(db, ST_ANNOUNCE_BATCH_END,
              ARGS(ARG_INT(c->id), ARG_TEXT(c->announce_cursor), ARG_INT(c->announce_from),
                   ARG_INT(c->stage_open), ARG_INT(limit - 1)),
              fill_text_id, end);
    if (r < 0 && r != -ENOENT)
        return r;
    if ((r = exec(db, ST_ANNOUNCE_BATCH,
                  ARGS(ARG_INT(c->id), ARG_TEXT(c->announce_cursor), ARG_TEXT(end[0] ? end : NULL),
                       ARG_INT(c->announce_from), ARG_ID(payload_id), ARG_INT(now),
                       ARG_INT(c->stage_open)),
                  &n)) < 0 ||
        (r = exec_one(db, ST_ANNOUNCE_CURSOR, ARGS(ARG_INT(c->id), ARG_TEXT(end[0] ? end : NULL)))) < 0)
        return r;
    *ret_n = (uint64_t)n;
    *ret_done = end[0] == '\0';
    return 0;
}

int ota_db_stage_insert(struct ota_db *db, int64_t campaign, unsigned stage, int64_t upto_rank)
{
    return exec(db, ST_STAGE_INSERT, ARGS(ARG_INT(campaign), ARG_INT(stage), ARG_INT(upto_rank)),
                NULL);
}

int ota_db_stage_opened(struct ota_db *db, int64_t campaign, unsigned stage, int64_t now)
{
    return exec(db, ST_STAGE_OPENED, ARGS(ARG_INT(campaign), ARG_INT(stage), ARG_INT(now)), NULL);
}

/* stage, upto_rank, opened_at, then the counts in enum ota_deploy_state order */
static int stage_fill(const struct row *r, void *out)
{
    struct ota_stage *st = out;

    st->stage = (unsigned)col_int(r, 0);
    st->upto_rank = col_int(r, 1);
    st->opened_at = col_int(r, 2);
    for (unsigned s = 0; s < OTA_DEPLOY_STATE_COUNT; s++)
        st->counts[s] = (uint64_t)col_int(r, 3 + s);
    return 0;
}

int ota_db_stages_get(struct ota_db *db, int64_t campaign, struct ota_stage ret[OTA_STAGES_MAX],
                      unsigned *ret_n)
{
    struct ota_db_iter it = { 0 };
    unsigned n = 0;
    int r;

    if ((r = iter_begin(&it, db, ST_STAGE_LIST, ARGS(ARG_INT(campaign)), sizeof(struct ota_stage),
                        NULL)) < 0)
        goto out;
    while ((r = iter_next(&it, stage_fill)) > 0) {
        if (n == OTA_STAGES_MAX) {
            r = -EIO; /* more than a campaign can have: a damaged database */
            goto out;
        }
        ret[n++] = *(struct ota_stage *)it.cur;
    }
    if (r == 0)
        *ret_n = n;
out:
    ota_db_iter_end(&it);
    return r;
}

static int version_fill(const struct row *r, void *out)
{
    struct ota_version_count *v = out;

    snprintf(v->version, sizeof(v->version), "%s", col_str(r, 0));
    v->n = (uint64_t)col_int(r, 1);
    return 0;
}

int ota_db_fleet_versions(struct ota_db *db, struct ota_version_count ret[OTA_VERSIONS_MAX],
                          unsigned *ret_n)
{
    struct ota_db_iter it = { 0 };
    unsigned n = 0;
    int r;

    if ((r = iter_begin(&it, db, ST_FLEET_VERSIONS, ARGS(ARG_INT(OTA_VERSIONS_MAX)),
                        sizeof(struct ota_version_count), NULL)) < 0)
        goto out;
    while (n < OTA_VERSIONS_MAX && (r = iter_next(&it, version_fill)) > 0)
        ret[n++] = *(struct ota_version_count *)it.cur;
    if (r >= 0) {
        *ret_n = n;
        r = 0;
    }
out:
    ota_db_iter_end(&it);
    return r;
}

/* @n deployments of @campaign moved from @from to @to in the counts; OTA_DEPLOY_STATE_COUNT
 * for "none" (inserted, deleted). */
static int count_move(struct ota_db *db, int64_t campaign, enum ota_deploy_state from,
                      enum ota_deploy_state to, uint64_t n)
{
    if (n == 0 || from == to)
        return 0;
    return exec_one(db, ST_CAMPAIGN_COUNT_MOVE,
                    ARGS(ARG_INT(campaign),
                         ARG_TEXT(from < OTA_DEPLOY_STATE_COUNT ? ota_deploy_state_name(from) : NULL),
                         ARG_TEXT(to < OTA_DEPLOY_STATE_COUNT ? ota_deploy_state_name(to) : NULL),
                         ARG_INT(n)));
}

int ota_db_group_exists(struct ota_db *db, const char *group)
{
    int64_t one;

    return fetch_int(db, ST_GROUP_EXISTS, ARGS(ARG_TEXT(group)), &one);
}

int ota_db_model_exists(struct ota_db *db, const char *model)
{
    int64_t one;

    return fetch_int(db, ST_MODEL_EXISTS, ARGS(ARG_TEXT(model)), &one);
}

/* ---- campaign start ---------------------------------------------------------------------- */

/* Each id of a comma list into the target set; the first unknown or revoked one in @bad. */
static int gather_listed(struct ota_db *db, const char *list, uint64_t *ret_n,
                         char bad[OTA_ID_MAX + 1])
{
    const char *p = list;
    uint64_t n = 0;
    int r;

    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char id[OTA_ID_MAX + 1];
        int64_t added = 0;

        if (len > OTA_ID_MAX)
            return -EINVAL;
        memcpy(id, p, len);
        id[len] = '\0';
        p += len + (end ? 1 : 0);
        if (len == 0)
            continue;
        if ((r = exec(db, ST_TARGETS_FILL_ONE, ARGS(ARG_TEXT(id)), &added)) < 0)
            return r;
        n += (uint64_t)added;
        if (added == 0 && !bad[0]) {
            /* a repeat adds nothing either: only an id that is not active is bad */
            struct ota_vehicle *v = NULL;
            r = ota_db_vehicle_get(db, id, &v);
            if (r == -ENOENT || (r == 0 && v->revoked))
                snprintf(bad, OTA_ID_MAX + 1, "%s", id);
            ota_vehicle_free(v);
            if (r < 0 && r != -ENOENT)
                return r;
        }
    }
    *ret_n = n;
    return bad[0] ? -EINVAL : 0;
}

int ota_db_targets_gather(struct ota_db *db, const struct ota_campaign *c, uint64_t *ret_n,
                          char bad[OTA_ID_MAX + 1])
{
    static const enum ota_stmt fill[] = {
        [OTA_TARGET_GROUP] = ST_TARGETS_FILL_GROUP,
        [OTA_TARGET_MODEL] = ST_TARGETS_FILL_MODEL,
        [OTA_TARGET_ALL] = ST_TARGETS_FILL_ALL,
        [OTA_TARGET_ATTRIBUTES] = ST_TARGETS_FILL_ATTRS,
    };
    int64_t n = 0;
    int r;

    bad[0] = '\0';
    if ((r = exec(db, ST_TARGETS_CLEAR, NOARGS, NULL)) < 0)
        return r;
    if (c->target_kind == OTA_TARGET_VEHICLES)
        return gather_listed(db, c->target, ret_n, bad);
    if ((unsigned)c->target_kind >= NARGS(fill))
        return -EINVAL;
    if (c->target_kind == OTA_TARGET_ALL)
        r = exec(db, ST_TARGETS_FILL_ALL, NOARGS, &n);
    else
        r = exec(db, fill[c->target_kind], ARGS(ARG_TEXT(c->target)), &n);
    if (r == 0)
        *ret_n = (uint64_t)n;
    return r;
}

int ota_db_targets_rank_at(struct ota_db *db, int64_t campaign, const char *canary,
                           bool skip_busy, uint64_t pos, int64_t *ret_rank)
{
    if (pos > INT64_MAX)
        return -EINVAL;
    return fetch_int(db, ST_TARGETS_RANK_AT,
                     ARGS(ARG_INT(campaign), ARG_TEXT(canary ? canary : ""), ARG_INT(skip_busy),
                          ARG_INT(pos)),
                     ret_rank);
}

int ota_db_targets_busy_all(struct ota_db *db, int64_t campaign, uint64_t *ret)
{
    int64_t n = 0;
    int r = fetch_int(db, ST_TARGETS_ALL_BUSY, ARGS(ARG_INT(campaign)), &n);

    if (r == 0)
        *ret = (uint64_t)n;
    return r;
}

int ota_db_targets_next_batch(struct ota_db *db, int64_t campaign, char cursor[OTA_ID_MAX + 1],
                              unsigned limit, uint64_t *ret_n)
{
    int64_t n = 0;
    int r;

    if ((r = exec(db, ST_BATCH_CLEAR, NOARGS, NULL)) < 0 ||
        (r = exec(db, ST_BATCH_FILL, ARGS(ARG_INT(campaign), ARG_TEXT(cursor), ARG_INT(limit)),
                  &n)) < 0)
        return r;
    if (n > 0 && (r = fetch(db, ST_BATCH_LAST, NOARGS, fill_text_id, cursor)) < 0)
        return r;
    *ret_n = (uint64_t)n;
    return 0;
}

int ota_db_targets_announce_held(struct ota_db *db, int64_t campaign, int64_t payload_id,
                                 int upto_stage, int64_t now, uint64_t *ret_n)
{
    int64_t n = 0;
    int r = exec(db, ST_TARGETS_ANNOUNCE_HELD,
                 ARGS(ARG_INT(campaign), ARG_ID(payload_id), ARG_INT(now), ARG_INT(upto_stage)),
                 &n);

    if (r == 0 && ret_n)
        *ret_n = (uint64_t)n;
    return r;
}

int ota_db_targets_busy(struct ota_db *db, int64_t campaign, uint64_t *ret)
{
    int64_t n = 0;
    int r = fetch_int(db, ST_TARGETS_BUSY, ARGS(ARG_INT(campaign)), &n);

    if (r == 0)
        *ret = (uint64_t)n;
    return r;
}

int ota_db_targets_skip_busy(struct ota_db *db, int64_t campaign, uint64_t *ret_skipped)
{
    int64_t n = 0;
    int r = exec(db, ST_TARGETS_SKIP_BUSY, ARGS(ARG_INT(campaign)), &n);

    if (r == 0 && ret_skipped)
        *ret_skipped = (uint64_t)n;
    return r;
}

/* What a supersede moves: per other campaign, per state, how many. */
struct moved {
    int64_t campaign;
    enum ota_deploy_state state;
    uint64_t n;
};

struct moved_list {
    struct moved *v;
    size_t n, cap;
};

static int moved_fill(const struct row *r, void *out)
{
    struct moved *m = out;

    m->campaign = col_int(r, 0);
    m->n = (uint64_t)col_int(r, 2);
    return ota_deploy_state_parse(col_str(r, 1), &m->state) < 0 ? -EIO : 0;
}

static int moved_collect(struct ota_db *db, int64_t campaign, struct moved_list *l)
{
    struct ota_db_iter it;
    int r;

    if ((r = iter_begin(&it, db, ST_TARGETS_SUPERSEDED, ARGS(ARG_INT(campaign)),
                        sizeof(struct moved), NULL)) < 0)
        goto out;
    while ((r = iter_next(&it, moved_fill)) > 0) {
        if (l->n == l->cap) {
            size_t cap = l->cap ? l->cap * 2 : 16;
            struct moved *v = realloc(l->v, cap * sizeof(*v));
            if (!v) {
                r = -ENOMEM;
                break;
            }
            l->v = v;
            l->cap = cap;
        }
        l->v[l->n++] = *(struct moved *)it.cur;
    }
out:
    ota_db_iter_end(&it);
    return r;
}

int ota_db_targets_supersede(struct ota_db *db, int64_t campaign, const char *detail,
                             int64_t now, uint64_t *ret_n, int64_t **ret_campaigns,
                             size_t *ret_ncampaigns)
{
    struct moved_list l = { 0 };
    int64_t changed = 0, *ids = NULL;
    uint64_t total = 0;
    size_t nids = 0;
    int r;

    if ((r = moved_collect(db, campaign, &l)) < 0)
        goto out;
    ids = calloc(l.n + 1, sizeof(*ids));
    if (!ids) {
        r = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < l.n; i++) {
        bool seen = false;
        if ((r = count_move(db, l.v[i].campaign, l.v[i].state, OTA_DEPLOY_CANCELLED, l.v[i].n)) < 0)
            goto out;
        total += l.v[i].n;
        for (size_t j = 0; j < nids; j++)
            seen = seen || ids[j] == l.v[i].campaign;
        if (!seen)
            ids[nids++] = l.v[i].campaign;
    }
    if ((r = exec(db, ST_TARGETS_SUPERSEDE, ARGS(ARG_INT(campaign), ARG_TEXT(detail), ARG_INT(now)),
                  &changed)) < 0 ||
        (r = exec(db, ST_TARGETS_DROP_UNSENT, ARGS(ARG_INT(campaign)), NULL)) < 0)
        goto out;
    if ((uint64_t)changed != total) {
        r = -EIO; /* the counts and the rows disagree: never commit that */
        goto out;
    }
    *ret_n = total;
    *ret_campaigns = ids;
    *ret_ncampaigns = nids;
    ids = NULL;
    r = 0;
out:
    free(ids);
    free(l.v);
    return r;
}

int ota_db_targets_deploy(struct ota_db *db, const struct ota_campaign *c, int64_t now,
                          uint64_t *ret_installed, uint64_t *ret_pending)
{
    const char *canary = c->rules.canary ? c->rules.canary : "";
    int64_t installed = 0, pending = 0, campaign = c->id;
    int r;

    if ((r = exec(db, ST_TARGETS_DEPLOY_INSTALLED,
                  ARGS(ARG_INT(campaign), ARG_TEXT(c->artifact), ARG_INT(now), ARG_TEXT(canary)),
                  &installed)) < 0 ||
        (r = exec(db, ST_TARGETS_DEPLOY,
                  ARGS(ARG_INT(campaign), ARG_TEXT(c->artifact), ARG_INT(now), ARG_TEXT(canary)),
                  &pending)) < 0 ||
        (r = count_move(db, campaign, OTA_DEPLOY_STATE_COUNT, OTA_DEPLOY_INSTALLED,
                        (uint64_t)installed)) < 0 ||
        (r = count_move(db, campaign, OTA_DEPLOY_STATE_COUNT, OTA_DEPLOY_PENDING,
                        (uint64_t)pending)) < 0)
        return r;
    *ret_installed = (uint64_t)installed;
    *ret_pending = (uint64_t)pending;
    return 0;
}

/* ---- deployments ----------------------------------------------------------------------- */

static void deployment_clear(void *p)
{
    struct ota_deployment *d = p;

    free(d->detail);
    d->detail = NULL;
}

void ota_deployment_free(struct ota_deployment *d)
{
    if (!d)
        return;
    deployment_clear(d);
    free(d);
}

static void deployment_free_p(void *p)
{
    ota_deployment_free(p);
}

/* d.id, d.campaign, d.vehicle, d.state, d.bytes, d.detail, d.cancel_acked, d.created_at,
 * d.updated_at, c.state, c.artifact, d.cancelled_from, d.stage, d.started_at, held,
 * has a window, offering */
static int deployment_fill(const struct row *r, void *out)
{
    struct ota_deployment *d = out;
    int cstate, ret;

    d->id = col_int(r, 0);
    d->campaign = col_int(r, 1);
    col_copy(r, 2, d->vehicle, sizeof(d->vehicle));
    if (ota_deploy_state_parse(col_str(r, 3), &d->state) < 0)
        return -EIO;
    d->bytes = (uint64_t)col_int(r, 4);
    if ((ret = col_dup(r, 5, &d->detail)) < 0)
        return ret;
    d->cancel_acked = col_int(r, 6) != 0;
    d->created_at = col_int(r, 7);
    d->updated_at = col_int(r, 8);
    if ((ret = enum_of(campaign_states, OTA_CAMPAIGN_STATE_COUNT, col_str(r, 9), &cstate)) < 0)
        return ret;
    d->campaign_state = (enum ota_campaign_state)cstate;
    col_copy(r, 10, d->artifact, sizeof(d->artifact));
    if (!col_opt(r, 11) || ota_deploy_state_parse(col_str(r, 11), &d->cancelled_from) < 0)
        d->cancelled_from = OTA_DEPLOY_STATE_COUNT;
    d->stage = (unsigned)col_int(r, 12);
    d->started_at = col_int(r, 13);
    d->held = col_int(r, 14) != 0;
    d->window = col_int(r, 15) != 0;
    d->offering = col_int(r, 16) != 0;
    return 0;
}

static int deployment_new(struct ota_db *db, enum ota_stmt id, const struct ota_db_arg *a,
                          unsigned n, struct ota_deployment **ret)
{
    return fetch_new(db, id, a, n, sizeof(**ret), deployment_fill, deployment_free_p,
                     (void **)ret);
}

int ota_db_deployment_insert(struct ota_db *db, int64_t campaign, const char *vehicle,
                             enum ota_deploy_state s, const char *detail, int64_t now,
                             int64_t *ret_id)
{
    int64_t id = 0;
    int r = fetch_int(db, ST_DEPLOY_INSERT,
                      ARGS(ARG_INT(campaign), ARG_TEXT(vehicle), ARG_TEXT(ota_deploy_state_name(s)),
                           ARG_TEXT(detail ? detail : ""), ARG_INT(now)),
                      &id);

    if (r < 0)
        return r;
    if ((r = count_move(db, campaign, OTA_DEPLOY_STATE_COUNT, s, 1)) < 0)
        return r;
    if (ret_id)
        *ret_id = id;
    return 0;
}

int ota_db_deployment_get(struct ota_db *db, int64_t campaign, const char *vehicle,
                          struct ota_deployment **ret)
{
    return deployment_new(db, ST_DEPLOY_GET, ARGS(ARG_INT(campaign), ARG_TEXT(vehicle)), ret);
}

int ota_db_deployment_get_by_id(struct ota_db *db, int64_t id, struct ota_deployment **ret)
{
    return deployment_new(db, ST_DEPLOY_GET_ID, ARGS(ARG_INT(id)), ret);
}

int ota_db_deployment_current(struct ota_db *db, const char *vehicle,
                              struct ota_deployment **ret)
{
    return deployment_new(db, ST_DEPLOY_CURRENT, ARGS(ARG_TEXT(vehicle)), ret);
}

int ota_db_deployment_open(struct ota_db *db, const char *vehicle, struct ota_deployment **ret)
{
    return deployment_new(db, ST_DEPLOY_OPEN, ARGS(ARG_TEXT(vehicle)), ret);
}

int ota_db_deployment_last_cancelled(struct ota_db *db, const char *vehicle,
                                     struct ota_deployment **ret)
{
    return deployment_new(db, ST_DEPLOY_LAST_CANCELLED, ARGS(ARG_TEXT(vehicle)), ret);
}

int ota_db_deployment_update(struct ota_db *db, const struct ota_deployment *d,
                             enum ota_deploy_state s, uint64_t bytes, const char *detail,
                             int64_t now)
{
    int r;

    if (bytes > INT64_MAX)
        bytes = INT64_MAX;
    /* guarded by the state it was read in: a concurrent change makes it a no-op */
    r = exec_one(db, ST_DEPLOY_SET,
                 ARGS(ARG_INT(d->id), ARG_TEXT(ota_deploy_state_name(d->state)),
                      ARG_TEXT(ota_deploy_state_name(s)), ARG_INT(bytes), ARG_TEXT(detail),
                      ARG_INT(now)));
    if (r == -ENOENT)
        return -EAGAIN;
    if (r < 0)
        return r;
    return count_move(db, d->campaign, d->state, s, 1);
}

int ota_db_deployment_add_bytes(struct ota_db *db, int64_t campaign, const char *vehicle,
                                uint64_t bytes)
{
    if (bytes > INT64_MAX)
        bytes = INT64_MAX;
    return exec_one(db, ST_DEPLOY_ADD_BYTES, ARGS(ARG_INT(campaign), ARG_TEXT(vehicle), ARG_INT(bytes)));
}

int ota_db_deployment_cancel_ack(struct ota_db *db, int64_t id)
{
    return exec_one(db, ST_DEPLOY_CANCEL_ACK, ARGS(ARG_INT(id)));
}

int ota_db_deployment_cancel_campaign(struct ota_db *db, int64_t campaign, int64_t now,
                                      uint64_t *ret_n)
{
    struct ota_campaign *c = NULL;
    int64_t changed = 0;
    int r;

    if ((r = ota_db_campaign_get(db, campaign, &c)) < 0)
        return r;
    if ((r = exec(db, ST_DEPLOY_CANCEL_CAMPAIGN, ARGS(ARG_INT(campaign), ARG_INT(now)),
                  &changed)) < 0 ||
        (r = exec_one(db, ST_CAMPAIGN_COUNT_CANCEL, ARGS(ARG_INT(campaign)))) < 0)
        goto out;
    if ((uint64_t)changed != ota_campaign_unfinished(c)) {
        r = -EIO; /* the counts and the rows disagree: never commit that */
        goto out;
    }
    if (ret_n)
        *ret_n = (uint64_t)changed;
out:
    ota_campaign_free(c);
    return r;
}

int ota_db_deployments_stuck_begin(struct ota_db *db, int64_t campaign, int64_t before,
                                   unsigned limit, struct ota_db_iter *it)
{
    return iter_begin(it, db, ST_DEPLOY_STUCK, ARGS(ARG_INT(campaign), ARG_INT(before), ARG_INT(limit)),
                      sizeof(struct ota_deployment), deployment_clear);
}

int ota_db_deployment_retry_campaign(struct ota_db *db, int64_t campaign, int64_t now,
                                     uint64_t *ret_n, uint64_t *ret_busy)
{
    struct ota_campaign *c = NULL;
    int64_t changed = 0;
    int r;

    if ((r = ota_db_campaign_get(db, campaign, &c)) < 0)
        return r;
    if ((r = exec(db, ST_DEPLOY_RETRY, ARGS(ARG_INT(campaign), ARG_INT(now)), &changed)) < 0 ||
        (r = count_move(db, campaign, OTA_DEPLOY_FAILED, OTA_DEPLOY_PENDING, (uint64_t)changed)) < 0)
        goto out;
    *ret_n = (uint64_t)changed;
    *ret_busy = c->counts[OTA_DEPLOY_FAILED] - (uint64_t)changed;
out:
    ota_campaign_free(c);
    return r;
}

struct state_count {
    enum ota_deploy_state state;
    uint64_t n;
};

static int state_count_fill(const struct row *r, void *out)
{
    struct state_count *s = out;

    s->n = (uint64_t)col_int(r, 1);
    return ota_deploy_state_parse(col_str(r, 0), &s->state) < 0 ? -EIO : 0;
}

int ota_db_deployment_recount(struct ota_db *db, int64_t campaign,
                              uint64_t counts[OTA_DEPLOY_STATE_COUNT])
{
    struct ota_db_iter it;
    int r;

    memset(counts, 0, sizeof(uint64_t) * OTA_DEPLOY_STATE_COUNT);
    r = iter_begin(&it, db, ST_DEPLOY_COUNTS, ARGS(ARG_INT(campaign)), sizeof(struct state_count),
                   NULL);
    while (r == 0 && (r = iter_next(&it, state_count_fill)) > 0) {
        const struct state_count *s = it.cur;
        counts[s->state] = s->n;
        r = 0;
    }
    ota_db_iter_end(&it);
    return r;
}

int ota_db_deployments_begin(struct ota_db *db, int64_t campaign, enum ota_deploy_state state,
                             const char *after_vehicle, struct ota_db_iter *it)
{
    const char *after = after_vehicle ? after_vehicle : "";

    if (state < OTA_DEPLOY_STATE_COUNT)
        return iter_begin(it, db, ST_DEPLOY_LIST_STATE,
                          ARGS(ARG_INT(campaign), ARG_TEXT(after),
                               ARG_TEXT(ota_deploy_state_name(state))),
                          sizeof(struct ota_deployment), deployment_clear);
    return iter_begin(it, db, ST_DEPLOY_LIST, ARGS(ARG_INT(campaign), ARG_TEXT(after)),
                      sizeof(struct ota_deployment), deployment_clear);
}

int ota_db_deployments_next(struct ota_db_iter *it, const struct ota_deployment **ret)
{
    int r = iter_next(it, deployment_fill);

    if (r > 0)
        *ret = it->cur;
    return r;
}

static int failure_fill(const struct row *r, void *out)
{
    struct ota_failure_reason *f = out;

    f->detail = col_str(r, 0);
    f->n = (uint64_t)col_int(r, 1);
    return 0;
}

int ota_db_failures_begin(struct ota_db *db, int64_t campaign, unsigned limit,
                          struct ota_db_iter *it)
{
    return iter_begin(it, db, ST_DEPLOY_FAILURES, ARGS(ARG_INT(campaign), ARG_INT(limit)),
                      sizeof(struct ota_failure_reason), NULL);
}

int ota_db_failures_next(struct ota_db_iter *it, const struct ota_failure_reason **ret)
{
    int r = iter_next(it, failure_fill);

    if (r > 0)
        *ret = it->cur;
    return r;
}

int ota_db_vehicle_may_fetch(struct ota_db *db, const char *vehicle, const char *sha256)
{
    int64_t held = 0;
    int r = fetch_int(db, ST_DEPLOY_FETCHABLE, ARGS(ARG_TEXT(vehicle), ARG_TEXT(sha256)), &held);

    if (r < 0)
        return r;
    return held ? -EAGAIN : 0;
}

/* ---- outbox ---------------------------------------------------------------------------- */

int ota_update_topic(const char *vehicle, char *buf, size_t len)
{
    int n;

    if (!ota_id_valid(vehicle))
        return -EINVAL;
    n = snprintf(buf, len, "vehicles/%s/update", vehicle);
    return n > 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
}

/* -EIO for a state the schema's CHECK should have refused (a foreign database). */
static int outbox_fill_common(const struct row *r, struct ota_outbox_row *o)
{
    const char *topic;
    int state = 0, ret;

    o->id = col_int(r, 0);
    col_copy(r, 1, o->vehicle, sizeof(o->vehicle));
    o->campaign = col_int(r, 2);
    topic = col_opt(r, 3);
    /* NULL: the vehicle's update topic (schema 002 stores it so: narrower rows) */
    if (!topic && ota_update_topic(o->vehicle, o->topic_buf, sizeof(o->topic_buf)) == 0)
        topic = o->topic_buf;
    o->topic = topic ? topic : "";
    o->payload_id = col_int(r, 4);
    o->retain = col_int(r, 5) != 0;
    if ((ret = enum_of(outbox_states, 4, col_str(r, 6), &state)) < 0)
        return ret;
    o->state = (enum ota_outbox_state)state;
    o->attempts = (uint32_t)col_int(r, 7);
    o->next_attempt_at = col_int(r, 8);
    o->published_at = col_int(r, 9);
    o->payload = NULL;
    o->payload_len = 0;
    return 0;
}

/* The due scan: no body */
static int outbox_fill(const struct row *r, void *out)
{
    return outbox_fill_common(r, out);
}

/* The lists: column 10 is the body */
static int outbox_fill_body(const struct row *r, void *out)
{
    struct ota_outbox_row *o = out;

    int ret = outbox_fill_common(r, o);

    if (ret < 0)
        return ret;
    o->payload = col_str(r, 10);
    o->payload_len = r->db->drv->text_len(r->db->c, r->id, 10);
    return 0;
}

int ota_db_outbox_payload_add(struct ota_db *db, const char *payload, int64_t *ret_id)
{
    *ret_id = 0;
    if (!payload || !payload[0])
        return 0;
    return fetch_int(db, ST_OUTBOX_PAYLOAD_ADD, ARGS(ARG_TEXT(payload)), ret_id);
}

int ota_db_outbox_release_held(struct ota_db *db, int64_t campaign, unsigned limit,
                               uint64_t *ret_n)
{
    int64_t n = 0;
    int r = exec(db, ST_OUTBOX_RELEASE_HELD, ARGS(ARG_INT(campaign), ARG_INT(limit)), &n);

    if (r == 0)
        *ret_n = (uint64_t)n;
    return r;
}

int ota_db_outbox_held_running(struct ota_db *db, int64_t before, int64_t *ret_campaign)
{
    return fetch_int(db, ST_OUTBOX_HELD_RUNNING, ARGS(ARG_INT(before)), ret_campaign);
}

int ota_db_outbox_insert(struct ota_db *db, const char *vehicle, int64_t campaign,
                         const char *topic, const char *payload, bool retain,
                         enum ota_outbox_state state, int64_t now, int64_t *ret_id)
{
    char usual[OTA_ID_MAX + 32];
    int64_t pid = 0, id = 0;
    int r;

    /* The usual topic is stored as NULL (schema 002): narrower rows. */
    if (topic && ota_update_topic(vehicle, usual, sizeof(usual)) == 0 && strcmp(topic, usual) == 0)
        topic = NULL;
    if ((r = ota_db_outbox_payload_add(db, payload, &pid)) < 0)
        return r;
    r = fetch_int(db, ST_OUTBOX_INSERT,
                  ARGS(ARG_TEXT(vehicle), ARG_ID(campaign), ARG_TEXT(topic), ARG_ID(pid),
                       ARG_INT(retain), ARG_TEXT(outbox_states[state & 3]), ARG_INT(now)),
                  &id);
    if (r == 0 && ret_id)
        *ret_id = id;
    return r;
}

static int outbox_clear(struct ota_db *db, enum ota_stmt id, int64_t campaign, int64_t now,
                        uint64_t *ret_count)
{
    int64_t n = 0;
    int r = exec(db, id, ARGS(ARG_INT(campaign), ARG_INT(now)), &n);

    if (r == 0 && ret_count)
        *ret_count = (uint64_t)n;
    return r;
}

int ota_db_outbox_clear_pending(struct ota_db *db, int64_t campaign, int64_t now,
                                uint64_t *ret_count)
{
    return outbox_clear(db, ST_OUTBOX_CLEAR_PENDING, campaign, now, ret_count);
}

int ota_db_outbox_clear_unfinished(struct ota_db *db, int64_t campaign, int64_t now,
                                   uint64_t *ret_count)
{
    return outbox_clear(db, ST_OUTBOX_CLEAR_UNFINISHED, campaign, now, ret_count);
}

int ota_db_outbox_due_begin(struct ota_db *db, int64_t now, int64_t after_id, unsigned limit,
                            struct ota_db_iter *it)
{
    return iter_begin(it, db, ST_OUTBOX_DUE, ARGS(ARG_INT(now), ARG_INT(after_id), ARG_INT(limit)),
                      sizeof(struct ota_outbox_row), NULL);
}

int ota_db_outbox_deferred_begin(struct ota_db *db, int64_t now, int64_t after_id,
                                 unsigned limit, struct ota_db_iter *it)
{
    return iter_begin(it, db, ST_OUTBOX_DEFERRED,
                      ARGS(ARG_INT(now), ARG_INT(after_id), ARG_INT(limit)),
                      sizeof(struct ota_outbox_row), NULL);
}

int ota_db_outbox_list_begin(struct ota_db *db, const char *vehicle, struct ota_db_iter *it)
{
    if (vehicle)
        return iter_begin(it, db, ST_OUTBOX_LIST, ARGS(ARG_TEXT(vehicle)),
                          sizeof(struct ota_outbox_row), NULL);
    return iter_begin(it, db, ST_OUTBOX_LIST_ALL, NOARGS, sizeof(struct ota_outbox_row), NULL);
}

int ota_db_outbox_next(struct ota_db_iter *it, const struct ota_outbox_row **ret)
{
    int r = iter_next(it, it->stmt == ST_OUTBOX_DUE ? outbox_fill : outbox_fill_body);

    if (r > 0)
        *ret = it->cur;
    return r;
}

struct body {
    char *s;
    size_t len;
};

static int body_fill(const struct row *r, void *out)
{
    struct body *b = out;
    const char *t = col_str(r, 0);

    b->len = r->db->drv->text_len(r->db->c, r->id, 0);
    b->s = malloc(b->len + 1);
    if (!b->s)
        return -ENOMEM;
    memcpy(b->s, t, b->len);
    b->s[b->len] = '\0';
    return 0;
}

int ota_db_outbox_payload_get(struct ota_db *db, int64_t id, char **ret, size_t *ret_len)
{
    struct body b = { NULL, 0 };
    int r;

    if (id <= 0) {
        b.s = strdup("");
        r = b.s ? 0 : -ENOMEM;
    } else {
        r = fetch(db, ST_OUTBOX_PAYLOAD_GET, ARGS(ARG_INT(id)), body_fill, &b);
    }
    if (r < 0)
        return r;
    *ret = b.s;
    *ret_len = b.len;
    return 0;
}

int ota_db_outbox_mark_range(struct ota_db *db, int64_t first, int64_t last, int64_t now,
                             uint64_t *ret_count)
{
    int64_t n = 0;
    int r;

    if (first < 1 || first > last)
        return -EINVAL;
    r = exec(db, ST_OUTBOX_MARK_RANGE, ARGS(ARG_INT(first), ARG_INT(last), ARG_INT(now)), &n);
    if (r == 0 && ret_count)
        *ret_count = (uint64_t)n;
    return r;
}

int ota_db_outbox_mark_published(struct ota_db *db, int64_t id, int64_t now)
{
    uint64_t n = 0;
    int r = ota_db_outbox_mark_range(db, id, id, now, &n);

    return r < 0 ? r : n == 1 ? 0 : -ENOENT;
}

int ota_db_outbox_retry_later(struct ota_db *db, int64_t id, int64_t next_at)
{
    return exec_one(db, ST_OUTBOX_RETRY, ARGS(ARG_INT(id), ARG_INT(next_at)));
}

int ota_db_outbox_drop_campaign(struct ota_db *db, int64_t campaign)
{
    return exec(db, ST_OUTBOX_DROP_CAMPAIGN, ARGS(ARG_INT(campaign)), NULL);
}

int ota_db_outbox_drop_vehicle(struct ota_db *db, const char *vehicle)
{
    return exec(db, ST_OUTBOX_DROP_VEHICLE, ARGS(ARG_TEXT(vehicle)), NULL);
}

int ota_db_outbox_requeue_latest(struct ota_db *db, bool skip_empty, int64_t now,
                                 uint64_t *ret_count)
{
    int64_t n = 0;
    int r = exec(db, ST_OUTBOX_REQUEUE, ARGS(ARG_INT(now), ARG_INT(skip_empty)), &n);

    if (r == 0 && ret_count)
        *ret_count = (uint64_t)n;
    return r == -EEXIST ? -EIO : r;
}

struct outbox_count {
    int state;
    uint64_t n;
};

static int outbox_count_fill(const struct row *r, void *out)
{
    struct outbox_count *c = out;

    c->n = (uint64_t)col_int(r, 1);
    return enum_of(outbox_states, 4, col_str(r, 0), &c->state);
}

int ota_db_outbox_counts(struct ota_db *db, uint64_t counts[4])
{
    struct ota_db_iter it;
    int r;

    memset(counts, 0, sizeof(uint64_t) * 4);
    r = iter_begin(&it, db, ST_OUTBOX_COUNTS, NOARGS, sizeof(struct outbox_count), NULL);
    while (r == 0 && (r = iter_next(&it, outbox_count_fill)) > 0) {
        const struct outbox_count *c = it.cur;
        counts[c->state] += c->n;
        r = 0;
    }
    ota_db_iter_end(&it);
    return r;
}

static int unsent_fill(const struct row *r, void *out)
{
    uint64_t *v = out;

    v[0] = (uint64_t)col_int(r, 0);
    v[1] = (uint64_t)col_int(r, 1);
    return 0;
}

int ota_db_outbox_unsent(struct ota_db *db, uint64_t *ret_pending, uint64_t *ret_held)
{
    uint64_t v[2] = { 0, 0 };
    int r = fetch(db, ST_OUTBOX_UNSENT, NOARGS, unsent_fill, v);

    *ret_pending = v[0];
    *ret_held = v[1];
    return r;
}

/* ---- events ---------------------------------------------------------------------------- */

int ota_db_event_add(struct ota_db *db, const struct ota_event *e)
{
    return exec(db, ST_EVENT_ADD,
                ARGS(ARG_INT(e->ts ? e->ts : ota_now()), ARG_TEXT(e->actor), ARG_TEXT(e->kind),
                     ARG_TEXT(e->vehicle), ARG_ID(e->campaign), ARG_TEXT(e->state),
                     e->bytes >= 0 ? ARG_INT(e->bytes) : ARG_NULL,
                     ARG_TEXT(e->detail ? e->detail : "")),
                NULL);
}

int ota_db_audit(struct ota_db *db, const char *actor, const char *kind, const char *vehicle,
                 int64_t campaign, const char *detail)
{
    struct ota_event e = {
        .actor = actor,
        .kind = kind,
        .vehicle = vehicle,
        .campaign = campaign,
        .bytes = -1,
        .detail = detail,
    };

    return ota_db_event_add(db, &e);
}

/* id, ts, actor, kind, vehicle, campaign, state, bytes, detail; strings borrowed */
static int event_fill(const struct row *r, void *out)
{
    struct ota_event *e = out;

    e->id = col_int(r, 0);
    e->ts = col_int(r, 1);
    e->actor = col_str(r, 2);
    e->kind = col_str(r, 3);
    e->vehicle = col_opt(r, 4);
    e->campaign = col_int(r, 5);
    e->state = col_opt(r, 6);
    e->bytes = col_int(r, 7);
    e->detail = col_str(r, 8);
    return 0;
}

int ota_db_events_begin(struct ota_db *db, const struct ota_event_filter *f,
                        struct ota_db_iter *it)
{
    const struct ota_event_filter none = { 0 };

    if (!f)
        f = &none;
    return iter_begin(it, db, ST_EVENT_LIST,
                      ARGS(ARG_INT(f->campaign), ARG_TEXT(f->vehicle), ARG_TEXT(f->kind),
                           ARG_INT(f->since),
                           ARG_INT(f->limit && f->limit <= INT64_MAX ? (int64_t)f->limit : -1)),
                      sizeof(struct ota_event), NULL);
}

int ota_db_events_next(struct ota_db_iter *it, const struct ota_event **ret)
{
    int r = iter_next(it, event_fill);

    if (r > 0)
        *ret = it->cur;
    return r;
}
