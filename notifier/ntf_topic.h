/* MQTT topic names of DESIGN.md: "<prefix>/vehicles/<id>/update" and ".../status". */
#pragma once
#include <stddef.h>
#include "ota_util.h"

#define NTF_TOPIC_MAX 512 /* bytes of a full topic name we build, with the NUL */

/* Writes "<prefix>/<rel>" into @buf. Returns 0 or -ENAMETOOLONG. */
int ntf_topic_join(const char *prefix, const char *rel, char *buf, size_t len);

/* Writes the status subscription "<prefix>/vehicles/+/status" into @buf. 0 or -ENAMETOOLONG. */
int ntf_topic_status_sub(const char *prefix, char *buf, size_t len);

/* If @topic is exactly "<prefix>/vehicles/<id>/status" with a valid id
 * ([A-Za-z0-9._-]{1,64}), copies the id to @ret_id (OTA_ID_MAX + 1 bytes) and returns 0;
 * otherwise -EINVAL and @ret_id is untouched. */
int ntf_topic_status_vehicle(const char *prefix, const char *topic, char *ret_id);
