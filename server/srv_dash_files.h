/* The dashboard page's files, compiled into ota-server (server/dashboard/, turned into
 * srv_dash_files.c by server/dashboard/embed.py at build time). */
#pragma once
#include <stddef.h>

struct srv_dash_file {
    const char *path; /* "/" for index.html */
    const char *ctype;
    const char *data;
    size_t len;
};

/* The file served at @path, or NULL. */
const struct srv_dash_file *srv_dash_file_find(const char *path);
