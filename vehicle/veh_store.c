/* State folder of one vehicle: partial downloads, installation by rename, state.json. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include "ota_util.h"
#include "veh_store.h"

bool veh_store_name_valid(const char *name)
{
    size_t n = 0;

    if (!name || name[0] == '.' || name[0] == '\0')
        return false;
    for (; name[n]; n++) {
        char c = name[n];

        if (n >= VEH_NAME_MAX)
            return false;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == '+'))
            return false;
    }
    return true;
}

static int make_dir(const char *path)
{
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

int veh_store_prepare(const char *dir)
{
    char path[PATH_MAX];
    int r;

    if ((r = make_dir(dir)) < 0)
        return r;
    if (snprintf(path, sizeof(path), "%s/partial", dir) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    if ((r = make_dir(path)) < 0)
        return r;
    if (snprintf(path, sizeof(path), "%s/installed", dir) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    return make_dir(path);
}

int veh_store_partial_path(const char *dir, const char *sha256, char *buf, size_t len)
{
    int n;

    if (!ota_sha256_hex_valid(sha256))
        return -EINVAL;
    n = snprintf(buf, len, "%s/partial/%s.part", dir, sha256);
    if (n < 0 || (size_t)n >= len)
        return -ENAMETOOLONG;
    return 0;
}

int veh_store_install(const char *dir, const char *sha256, const char *name)
{
    char from[PATH_MAX], to[PATH_MAX], folder[PATH_MAX];
    int r;

    if (!veh_store_name_valid(name))
        return -EINVAL;
    if ((r = veh_store_partial_path(dir, sha256, from, sizeof(from))) < 0)
        return r;
    if (snprintf(to, sizeof(to), "%s/installed/%s", dir, name) >= (int)sizeof(to) ||
        snprintf(folder, sizeof(folder), "%s/installed", dir) >= (int)sizeof(folder))
        return -ENAMETOOLONG;
    if ((r = ota_fsync_path(from, O_RDONLY)) < 0)
        return r;
    if (rename(from, to) < 0)
        return -errno;
    return ota_fsync_path(folder, O_RDONLY | O_DIRECTORY);
}

static int copy_str(json_t *o, const char *key, char *buf, size_t len)
{
    const char *s = json_string_value(json_object_get(o, key));

    if (!s || strlen(s) >= len)
        return -EINVAL;
    memcpy(buf, s, strlen(s) + 1);
    return 0;
}

int veh_store_state_load(const char *dir, struct veh_store_state *ret)
{
    struct veh_store_state s = { 0 };
    char path[PATH_MAX], state[32];
    json_t *o = NULL;
    json_int_t campaign;
    int r = -EINVAL;

    if (snprintf(path, sizeof(path), "%s/state.json", dir) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    if (access(path, F_OK) < 0)
        return -ENOENT;
    o = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(o) || !json_is_integer(json_object_get(o, "campaign")))
        goto out;
    campaign = json_integer_value(json_object_get(o, "campaign"));
    if (campaign <= 0)
        goto out;
    s.campaign = campaign;
    if (copy_str(o, "sha256", s.sha256, sizeof(s.sha256)) < 0 ||
        copy_str(o, "name", s.name, sizeof(s.name)) < 0 ||
        copy_str(o, "version", s.version, sizeof(s.version)) < 0 ||
        copy_str(o, "state", state, sizeof(state)) < 0 ||
        ota_deploy_state_parse(state, &s.state) < 0)
        goto out;
    *ret = s;
    r = 0;
out:
    json_decref(o);
    return r;
}

int veh_store_state_save(const char *dir, const struct veh_store_state *s)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    json_t *o = NULL;
    int r = -ENOMEM;

    if (snprintf(path, sizeof(path), "%s/state.json", dir) >= (int)sizeof(path) ||
        snprintf(tmp, sizeof(tmp), "%s/state.json.tmp", dir) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    o = json_pack("{sI ss ss ss ss}", "campaign", (json_int_t)s->campaign, "sha256", s->sha256,
                  "name", s->name, "version", s->version, "state", ota_deploy_state_name(s->state));
    if (!o)
        goto out;
    if (json_dump_file(o, tmp, JSON_INDENT(2)) < 0) {
        r = -EIO;
        goto out;
    }
    if ((r = ota_fsync_path(tmp, O_RDONLY)) < 0)
        goto out;
    if (rename(tmp, path) < 0) {
        r = -errno;
        goto out;
    }
    r = ota_fsync_path(dir, O_RDONLY | O_DIRECTORY);
out:
    json_decref(o);
    return r;
}
