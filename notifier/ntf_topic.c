/* Building and parsing the notifier's topic names; the vehicle id of a status message
 * comes from its topic, so parsing is strict. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "ntf_topic.h"

/* Once per published message: memcpy, not snprintf. */
int ntf_topic_join(const char *prefix, const char *rel, char *buf, size_t len)
{
    size_t plen = strlen(prefix), rlen = strlen(rel);

    if (plen + 1 + rlen + 1 > len)
        return -ENAMETOOLONG;
    memcpy(buf, prefix, plen);
    buf[plen] = '/';
    memcpy(buf + plen + 1, rel, rlen + 1);
    return 0;
}

int ntf_topic_status_sub(const char *prefix, char *buf, size_t len)
{
    return ntf_topic_join(prefix, "vehicles/+/status", buf, len);
}

int ntf_topic_status_vehicle(const char *prefix, const char *topic, char *ret_id)
{
    static const char mid[] = "/vehicles/";
    static const char tail[] = "/status";
    size_t plen = strlen(prefix), tlen = strlen(topic), idlen;
    const char *id;
    char tmp[OTA_ID_MAX + 1];

    if (tlen < plen + sizeof(mid) - 1 + 1 + sizeof(tail) - 1)
        return -EINVAL;
    if (memcmp(topic, prefix, plen) != 0 || memcmp(topic + plen, mid, sizeof(mid) - 1) != 0)
        return -EINVAL;
    if (memcmp(topic + tlen - (sizeof(tail) - 1), tail, sizeof(tail) - 1) != 0)
        return -EINVAL;
    id = topic + plen + sizeof(mid) - 1;
    idlen = (size_t)(topic + tlen - (sizeof(tail) - 1) - id);
    if (idlen == 0 || idlen > OTA_ID_MAX)
        return -EINVAL;
    memcpy(tmp, id, idlen);
    tmp[idlen] = '\0';
    if (!ota_id_valid(tmp))
        return -EINVAL;
    memcpy(ret_id, tmp, idlen + 1);
    return 0;
}
