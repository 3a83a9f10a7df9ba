/* Building request URLs and MQTT topics from configured bases and server-sent paths. */
#pragma once
#include <stddef.h>

/* Joins @base ("https://host:port", trailing '/' allowed) and @path, which must start with
 * '/' and hold only visible ASCII (a server-sent path never redirects us to another host).
 * Returns 0, -EINVAL or -ENAMETOOLONG (does not fit @len). */
int veh_url_join(const char *base, const char *path, char *buf, size_t len);

/* An artifact link from the server: a path on @base (veh_url_join), or an absolute
 * https:// URL on another host (a CDN; http:// only when @base is http too), visible
 * ASCII only. Returns 0, -EINVAL or -ENAMETOOLONG. */
int veh_url_resolve(const char *base, const char *link, char *buf, size_t len);

/* "<prefix>/vehicles/<id>/<leaf>" into @buf. Returns 0, -EINVAL (prefix empty or with
 * '+'/'#', invalid id) or -ENAMETOOLONG. */
int veh_url_topic(const char *prefix, const char *id, const char *leaf, char *buf, size_t len);
