/* The fleet as the operator manages it: vehicles and CDN edges added, changed, revoked and
 * reinstated, with the rules around them (what a vehicle's fields may hold, what a revoke
 * ends). Each call is one transaction with an audit event naming @actor; refusals say
 * why in @err and change nothing. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "ota_db.h"

#define OTA_ATTRIBUTES_MAX 4096 /* bytes of a vehicle's attribute object */

/* Checks a vehicle's fields: @model and @group "" or a label (ota_label_valid), @attributes
 * NULL or a JSON object of string values within OTA_ATTRIBUTES_MAX. *ret_attrs (may be
 * NULL) the object in canonical form, new. 0 or -EINVAL (reason in @err). */
int ota_fleet_vehicle_check(const char *model, const char *group, const char *attributes,
                            char **ret_attrs, char *err, size_t errlen);

/* Returns 0, -EINVAL (a field, reason in @err), -EEXIST (the id exists: @err says whether
 * it is revoked and can be reinstated), -EBUSY or -EIO. */
int ota_fleet_vehicle_add(struct ota_db *db, const char *actor, const char *id,
                          const char *model, const char *group, const char *attributes,
                          char *err, size_t errlen);
/* Changes the fields that are not NULL. 0, -EINVAL, -ENOENT, -EBUSY or -EIO. */
int ota_fleet_vehicle_set(struct ota_db *db, const char *actor, const char *id,
                          const char *model, const char *group, const char *attributes,
                          char *err, size_t errlen);
/* Adds the vehicles of a CSV stream (ota_csv.h): a header line naming the columns, id
 * (required), model, group, attributes (a JSON object); an empty field is no value. All
 * rows or none, in one transaction, with one audit event "vehicle.import" naming @source.
 * *ret_count the vehicles added. 0, -EINVAL (a malformed file or row), -EEXIST (an id
 * that exists, or twice in the file), each with the line in @err; -EIO (a read error),
 * -EBUSY, -ENOMEM. */
int ota_fleet_vehicle_import(struct ota_db *db, const char *actor, FILE *f, const char *source,
                             uint64_t *ret_count, char *err, size_t errlen);
/* Revokes @id: its requests are refused from the next one on, its unfinished deployment
 * ends cancelled ("vehicle revoked", its campaign finishing if that was the last), its
 * unsent messages are dropped and its retained update cleared. Revoking a revoked
 * vehicle is 0. 0, -ENOENT, -EBUSY or -EIO. */
int ota_fleet_vehicle_revoke(struct ota_db *db, const char *actor, const char *id, char *err,
                             size_t errlen);
/* Makes a revoked vehicle active again (its old deployments stay as they ended).
 * 0, -ENOENT, -EINVAL (not revoked), -EBUSY or -EIO. */
int ota_fleet_vehicle_reinstate(struct ota_db *db, const char *actor, const char *id,
                                char *err, size_t errlen);

int ota_fleet_edge_add(struct ota_db *db, const char *actor, const char *name, char *err,
                       size_t errlen);
int ota_fleet_edge_revoke(struct ota_db *db, const char *actor, const char *name, char *err,
                          size_t errlen);
int ota_fleet_edge_reinstate(struct ota_db *db, const char *actor, const char *name, char *err,
                             size_t errlen);
