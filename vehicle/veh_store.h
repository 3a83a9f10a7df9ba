/* The vehicle's state folder: partial/<sha256>.part downloads, installed/<name> files and
 * state.json, the last update it finished (so a restart does not install it again). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ota_state.h"

#define VEH_NAME_MAX 255

/* A file name safe to create under installed/: [A-Za-z0-9._+-]{1,255}, not starting
 * with '.' (so no ".", "..", hidden files) and no '/'. */
bool veh_store_name_valid(const char *name);

/* Creates @dir, @dir/partial and @dir/installed (0700) if missing. Returns 0 or -errno. */
int veh_store_prepare(const char *dir);

/* "@dir/partial/<sha256>.part". Returns 0, -EINVAL (not a sha256) or -ENAMETOOLONG. */
int veh_store_partial_path(const char *dir, const char *sha256, char *buf, size_t len);

/* Makes the verified partial of @sha256 the installed file @name: fsync the file, rename it
 * to @dir/installed/@name (replacing an older one atomically), fsync the folder.
 * Returns 0, -EINVAL (bad name) or -errno; on failure the installed folder is unchanged. */
int veh_store_install(const char *dir, const char *sha256, const char *name);

struct veh_store_state {
    int64_t campaign;
    char sha256[65];
    char name[VEH_NAME_MAX + 1];
    char version[128];
    enum ota_deploy_state state; /* installed or failed */
};

/* Reads @dir/state.json. Returns 0, -ENOENT (none yet) or -EINVAL (unreadable). */
int veh_store_state_load(const char *dir, struct veh_store_state *ret);
/* Writes @dir/state.json atomically (temporary file, fsync, rename). 0 or -errno. */
int veh_store_state_save(const char *dir, const struct veh_store_state *s);
