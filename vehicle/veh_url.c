/* URL and topic building. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "ota_util.h"
#include "veh_url.h"

int veh_url_join(const char *base, const char *path, char *buf, size_t len)
{
    size_t blen;
    int n;

    if (!base || !path || path[0] != '/' || path[1] == '/')
        return -EINVAL;
    if (strncmp(base, "https://", 8) != 0 && strncmp(base, "http://", 7) != 0)
        return -EINVAL;
    for (const char *p = path; *p; p++)
        if (*p <= ' ' || *p > '~')
            return -EINVAL;
    blen = strlen(base);
    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    if (blen > (size_t)0x7fffffff)
        return -EINVAL;
    n = snprintf(buf, len, "%.*s%s", (int)blen, base, path);
    if (n < 0 || (size_t)n >= len)
        return -ENAMETOOLONG;
    return 0;
}

int veh_url_resolve(const char *base, const char *link, char *buf, size_t len)
{
    const char *host;
    int n;

    if (!base || !link)
        return -EINVAL;
    if (link[0] == '/')
        return veh_url_join(base, link, buf, len);
    if (strncmp(link, "https://", 8) == 0)
        host = link + 8;
    else if (strncmp(link, "http://", 7) == 0 && strncmp(base, "http://", 7) == 0)
        host = link + 7; /* never a downgrade from an https server */
    else
        return -EINVAL;
    if (host[0] == '\0' || host[0] == '/' || host[0] == '@')
        return -EINVAL;
    for (const char *p = link; *p; p++)
        if (*p <= ' ' || *p > '~')
            return -EINVAL;
    n = snprintf(buf, len, "%s", link);
    if (n < 0 || (size_t)n >= len)
        return -ENAMETOOLONG;
    return 0;
}

int veh_url_topic(const char *prefix, const char *id, const char *leaf, char *buf, size_t len)
{
    int n;

    if (!prefix || !*prefix || strpbrk(prefix, "+#") || !ota_id_valid(id))
        return -EINVAL;
    n = snprintf(buf, len, "%s/vehicles/%s/%s", prefix, id, leaf);
    if (n < 0 || (size_t)n >= len)
        return -ENAMETOOLONG;
    return 0;
}
