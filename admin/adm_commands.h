/* The ota-admin commands, one function per "group verb"; main.c dispatches to them from
 * its table. Each takes the arguments after the verb and returns an enum adm_exit. */
#pragma once
#include "adm_ctx.h"

typedef int adm_command_fn(struct adm_ctx *ctx, int argc, char **argv);

/* adm_backup.c */
adm_command_fn adm_backup;

/* adm_init.c */
adm_command_fn adm_init;
adm_command_fn adm_key_show;

/* adm_vehicle.c */
adm_command_fn adm_vehicle_add;
adm_command_fn adm_vehicle_import;
adm_command_fn adm_vehicle_list;
adm_command_fn adm_vehicle_show;
adm_command_fn adm_vehicle_revoke;
adm_command_fn adm_vehicle_reinstate;
adm_command_fn adm_vehicle_set;

/* adm_cdn.c */
adm_command_fn adm_cdn_link;

/* adm_edge.c */
adm_command_fn adm_edge_add;
adm_command_fn adm_edge_list;
adm_command_fn adm_edge_revoke;
adm_command_fn adm_edge_reinstate;

/* adm_artifact.c */
adm_command_fn adm_artifact_upload;
adm_command_fn adm_artifact_list;
adm_command_fn adm_artifact_show;
adm_command_fn adm_artifact_verify;
adm_command_fn adm_artifact_delete;
adm_command_fn adm_artifact_public;
adm_command_fn adm_store_gc;

/* adm_campaign.c */
adm_command_fn adm_campaign_create;
adm_command_fn adm_campaign_start;
adm_command_fn adm_campaign_pause;
adm_command_fn adm_campaign_resume;
adm_command_fn adm_campaign_cancel;
adm_command_fn adm_campaign_list;
adm_command_fn adm_campaign_show;
/* adm_rollout.c */
adm_command_fn adm_campaign_advance;
adm_command_fn adm_campaign_retry;
adm_command_fn adm_campaign_watch;

/* adm_audit.c */
adm_command_fn adm_outbox_list;
adm_command_fn adm_events;
