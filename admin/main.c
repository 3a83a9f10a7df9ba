/* ota-admin: the operator's CLI. Parses the global options, loads the configuration and
 * dispatches "group verb" through a table to the adm_* command functions. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ota_config.h"
#include "ota_log.h"
#include "adm_commands.h"
#include "adm_ctx.h"

static const struct adm_command {
    const char *group;
    const char *verb; /* NULL: the group is the whole command */
    adm_command_fn *fn;
    const char *usage;
} commands[] = {
    { "init", NULL, adm_init, "" },
    { "key", "show", adm_key_show, "" },
    { "vehicle", "add", adm_vehicle_add, "ID [--model M] [--group G] [--attr K=V,...]" },
    { "vehicle", "import", adm_vehicle_import, "FILE.csv (columns id[,model][,group][,attributes])" },
    { "vehicle", "set", adm_vehicle_set, "ID [--model M] [--group G] [--attr K=V,...]" },
    { "vehicle", "list", adm_vehicle_list, "[--group G] [--model M] [--version V]" },
    { "vehicle", "show", adm_vehicle_show, "ID" },
    { "vehicle", "revoke", adm_vehicle_revoke, "ID" },
    { "vehicle", "reinstate", adm_vehicle_reinstate, "ID" },
    { "edge", "add", adm_edge_add, "NAME" },
    { "edge", "list", adm_edge_list, "" },
    { "edge", "revoke", adm_edge_revoke, "NAME" },
    { "edge", "reinstate", adm_edge_reinstate, "NAME" },
    { "cdn", "link", adm_cdn_link, "SHA256|PATH --vehicle ID [--expires T]" },
    { "artifact", "upload", adm_artifact_upload,
      "FILE --version V [--name NAME] [--hw HW] [--signature FILE.minisig] [--public]" },
    { "artifact", "list", adm_artifact_list, "" },
    { "artifact", "show", adm_artifact_show, "SHA256" },
    { "artifact", "verify", adm_artifact_verify, "SHA256" },
    { "artifact", "delete", adm_artifact_delete, "SHA256" },
    { "artifact", "public", adm_artifact_public, "SHA256 [--off]" },
    { "store", "gc", adm_store_gc, "[--dry-run]" },
    { "campaign", "create", adm_campaign_create,
      "--name N --artifact SHA256 (--vehicles ID,ID... | --group G | --model M |\n"
      "                  --attr KEY=VALUE,... | --all) [--stages 5%,25%,100%] [--success P%]\n"
      "                  [--max-failures P%|N] [--min-finished N] [--timeout 30m]\n"
      "                  [--start-at 2026-12-03T01:00:00Z] [--window 'mon-fri 01:00-05:00']\n"
      "                  [--canary GROUP] [--manual]" },
    { "campaign", "start", adm_campaign_start, "ID [--supersede | --skip-busy]" },
    { "campaign", "pause", adm_campaign_pause, "ID" },
    { "campaign", "resume", adm_campaign_resume, "ID" },
    { "campaign", "cancel", adm_campaign_cancel, "ID" },
    { "campaign", "advance", adm_campaign_advance, "ID" },
    { "campaign", "retry", adm_campaign_retry, "ID" },
    { "campaign", "watch", adm_campaign_watch, "ID [--interval MS] [--timeout S]" },
    { "campaign", "list", adm_campaign_list, "" },
    { "campaign", "show", adm_campaign_show,
      "ID [--vehicles] [--state S] [--after VEHICLE] [--limit N]" },
    { "outbox", "list", adm_outbox_list, "[--vehicle ID]" },
    { "events", NULL, adm_events,
      "[--campaign ID] [--vehicle ID] [--kind K] [--since T] [--limit N]" },
    { "backup", NULL, adm_backup, "FILE (a consistent copy of the SQLite database)" },
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
    fputs("usage: ota-admin [--config FILE] [--db PATH] [--store DIR] [--keys DIR]\n"
          "                 [--set section.key=value]... COMMAND ... [--json]\n"
          "Without --config: $OTA_CONFIG, else " OTA_CONFIG_DEFAULT " when it exists.\n"
          "commands:\n",
          f);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %s%s%s %s\n", commands[i].group, commands[i].verb ? " " : "",
                commands[i].verb ? commands[i].verb : "", commands[i].usage);
    fputs("exit codes: 0 done, 1 failed, 2 usage\n", f);
}

/* A global option that sets a config key, applied after the file in command-line order. */
struct override {
    const char *section;
    const char *key;
    const char *value; /* NULL: @arg is "section.key=value" for ota_config_set_arg() */
    const char *arg;   /* the option as given, for messages */
};

enum global_kind { G_HELP, G_JSON, G_CONFIG, G_SET, G_KEY };

static const struct global_opt {
    const char *name;
    enum global_kind kind;
    const char *section; /* G_KEY: the config key the option sets */
    const char *key;
} global_opts[] = {
    { "--help", G_HELP, NULL, NULL },       { "-h", G_HELP, NULL, NULL },
    { "--json", G_JSON, NULL, NULL },       { "--config", G_CONFIG, NULL, NULL },
    { "--set", G_SET, NULL, NULL },         { "--db", G_KEY, "paths", "db" },
    { "--store", G_KEY, "paths", "store" }, { "--keys", G_KEY, "paths", "keys" },
};

static const struct adm_command *find_command(int argc, char **argv, const char **ret_err)
{
    bool group_known = false;

    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (strcmp(commands[i].group, argv[0]) != 0)
            continue;
        group_known = true;
        if (!commands[i].verb)
            return &commands[i];
        if (argc > 1 && strcmp(commands[i].verb, argv[1]) == 0)
            return &commands[i];
    }
    *ret_err = !group_known ? "unknown command" : argc > 1 ? "unknown verb" : "missing verb";
    return NULL;
}

int main(int argc, char **argv)
{
    struct adm_ctx ctx = { .json = false };
    struct override *ov = NULL;
    size_t nov = 0;
    const char *config_file = NULL;
    const struct adm_command *cmd;
    const char *why = NULL;
    char name[64];
    char err[512];
    int ret = ADM_EXIT_USAGE;
    int i;
    int r;

    ota_log_setup("ota-admin", OTA_LOG_WARN);
    if (ota_config_init(&ctx.config) < 0) {
        fputs("ota-admin: out of memory\n", stderr);
        return ADM_EXIT_FAIL;
    }
    ov = calloc((size_t)argc, sizeof(*ov));
    if (!ov) {
        fputs("ota-admin: out of memory\n", stderr);
        ret = ADM_EXIT_FAIL;
        goto out;
    }

    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        const struct global_opt *g = NULL;
        const char *arg = argv[i];
        const char *eq = strchr(arg, '=');
        size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
        const char *value = NULL;

        for (size_t k = 0; k < sizeof(global_opts) / sizeof(global_opts[0]); k++)
            if (strlen(global_opts[k].name) == n && memcmp(global_opts[k].name, arg, n) == 0)
                g = &global_opts[k];
        if (!g) {
            fprintf(stderr, "ota-admin: unknown option '%.*s'\n", (int)n, arg);
            usage(stderr);
            goto out;
        }
        if (g->kind == G_HELP || g->kind == G_JSON) {
            if (eq) {
                fprintf(stderr, "ota-admin: option '%s' takes no value\n", g->name);
                goto out;
            }
        } else if (eq) {
            value = eq + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            fprintf(stderr, "ota-admin: option '%s' needs a value\n", g->name);
            goto out;
        }
        switch (g->kind) {
        case G_HELP:
            usage(stdout);
            ret = ADM_EXIT_OK;
            goto out;
        case G_JSON:
            ctx.json = arg_json = true;
            break;
        case G_CONFIG:
            config_file = value;
            break;
        case G_SET:
            ov[nov++] = (struct override){ NULL, NULL, NULL, value };
            break;
        case G_KEY:
            ov[nov++] = (struct override){ g->section, g->key, value, g->name };
            break;
        }
    }
    if (i >= argc) {
        fputs("ota-admin: missing command\n", stderr);
        usage(stderr);
        goto out;
    }
    cmd = find_command(argc - i, argv + i, &why);
    if (!cmd) {
        fprintf(stderr, "ota-admin: %s '%s%s%s'\n", why, argv[i], argc - i > 1 ? " " : "",
                argc - i > 1 ? argv[i + 1] : "");
        usage(stderr);
        goto out;
    }

    /* The file first, then the overrides in the order given, whatever their position.
     * Without --config: $OTA_CONFIG (which must exist), else the system's file if there
     * is one, else the built-in defaults and the options alone. */
    if (!config_file)
        config_file = ota_config_default_path();
    if (config_file) {
        r = ota_config_load(&ctx.config, config_file, err, sizeof(err));
        if (r == -ENOENT) {
            fprintf(stderr, "ota-admin: config file %s: %s\n", config_file,
                    err[0] ? err : "no such file");
            ret = ADM_EXIT_FAIL;
            goto out;
        }
        if (r < 0) {
            fprintf(stderr, "ota-admin: config file %s: %s\n", config_file, err);
            ret = ADM_EXIT_FAIL;
            goto out;
        }
    }
    for (size_t k = 0; k < nov; k++) {
        err[0] = '\0';
        r = ov[k].value ? ota_config_set(&ctx.config, ov[k].section, ov[k].key, ov[k].value, err,
                                         sizeof(err))
                        : ota_config_set_arg(&ctx.config, ov[k].arg, err, sizeof(err));
        if (r < 0) {
            fprintf(stderr, "ota-admin: bad %s '%s': %s\n", ov[k].value ? ov[k].arg : "--set",
                    ov[k].value ? ov[k].value : ov[k].arg, err);
            goto out;
        }
    }

    snprintf(name, sizeof(name), "%s%s%s", cmd->group, cmd->verb ? " " : "",
             cmd->verb ? cmd->verb : "");
    ctx.command = name;
    ctx.usage = cmd->usage;
    ota_actor(ctx.actor, sizeof(ctx.actor));
    i += cmd->verb ? 2 : 1;
    ret = cmd->fn(&ctx, argc - i, argv + i);
    if (fflush(stdout) != 0 && ret == ADM_EXIT_OK) {
        fputs("ota-admin: cannot write the output\n", stderr);
        ret = ADM_EXIT_FAIL;
    }
out:
    free(ov);
    ota_config_clear(&ctx.config);
    return ret;
}
