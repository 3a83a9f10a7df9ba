/* Sub-command option parsing for ota-admin: a table per command instead of getopt
 * strings, so every error can name the argument and exit with the usage code. */
#include <string.h>
#include <stdlib.h>
#include <jansson.h>
#include "adm_args.h"

static const struct adm_opt *find_opt(const struct adm_opt *opts, size_t nopts, const char *arg,
                                      size_t namelen)
{
    for (size_t i = 0; i < nopts; i++)
        if (strlen(opts[i].name) == namelen && memcmp(opts[i].name, arg, namelen) == 0)
            return &opts[i];
    return NULL;
}

int adm_args_parse(struct adm_ctx *ctx, int argc, char **argv, const struct adm_opt *opts,
                   size_t nopts, const char *const *pos_names, const char **pos, int min_pos,
                   int max_pos)
{
    /* One bit per option, to refuse repeats: a campaign with two --group values is a
     * mistake, not something to resolve silently. */
    unsigned char seen[32] = { 0 };
    bool options_done = false;
    int npos = 0;

    /* --json anywhere before "--", even after a bad option: that refusal is JSON too */
    for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--json") == 0)
            ctx->json = arg_json = true;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        const struct adm_opt *o;
        const char *eq;
        size_t namelen;
        size_t idx;

        if (options_done || arg[0] != '-' || arg[1] == '\0') {
            if (npos >= max_pos)
                return adm_usage(ctx, "unexpected argument '%s'", arg);
            pos[npos++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            options_done = true;
            continue;
        }
        if (strcmp(arg, "--json") == 0) {
            ctx->json = true;
            continue;
        }
        eq = strchr(arg, '=');
        namelen = eq ? (size_t)(eq - arg) : strlen(arg);
        o = find_opt(opts, nopts, arg, namelen);
        if (!o)
            return adm_usage(ctx, "unknown option '%.*s'", (int)namelen, arg);
        idx = (size_t)(o - opts);
        if (idx < sizeof(seen) * 8) {
            if (seen[idx / 8] & (1u << (idx % 8)))
                return adm_usage(ctx, "option '%s' given twice", o->name);
            seen[idx / 8] |= (unsigned char)(1u << (idx % 8));
        }
        switch (o->kind) {
        case ADM_OPT_FLAG:
            if (eq)
                return adm_usage(ctx, "option '%s' takes no value", o->name);
            *o->ret_flag = true;
            break;
        case ADM_OPT_STRING:
            if (eq) {
                *o->ret_str = eq + 1;
            } else {
                if (i + 1 >= argc)
                    return adm_usage(ctx, "option '%s' needs a value", o->name);
                *o->ret_str = argv[++i];
            }
            if ((*o->ret_str)[0] == '\0')
                return adm_usage(ctx, "option '%s' needs a non-empty value", o->name);
            break;
        }
    }
    if (npos < min_pos)
        return adm_usage(ctx, "missing argument %s", pos_names ? pos_names[npos] : "");
    return ADM_EXIT_OK;
}

int adm_parse_attrs(const struct adm_ctx *ctx, const char *option, const char *text, char **ret)
{
    json_t *obj = json_object();
    char *copy = strdup(text), *save = NULL, *dumped = NULL;
    int r = ADM_EXIT_USAGE;

    if (!obj || !copy) {
        r = adm_fail("out of memory");
        goto out;
    }
    for (char *pair = strtok_r(copy, ",", &save); pair; pair = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(pair, '=');

        if (!eq || eq == pair || !eq[1]) {
            r = adm_usage(ctx, "invalid %s (KEY=VALUE[,KEY=VALUE...])", option);
            goto out;
        }
        *eq = '\0';
        if (json_object_get(obj, pair)) {
            r = adm_usage(ctx, "%s names '%.64s' twice", option, pair);
            goto out;
        }
        if (json_object_set_new(obj, pair, json_string(eq + 1)) < 0) {
            r = adm_usage(ctx, "invalid %s: not UTF-8", option);
            goto out;
        }
    }
    if (json_object_size(obj) == 0) {
        r = adm_usage(ctx, "invalid %s (KEY=VALUE[,KEY=VALUE...])", option);
        goto out;
    }
    dumped = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
    if (!dumped) {
        r = adm_fail("out of memory");
        goto out;
    }
    *ret = dumped;
    r = ADM_EXIT_OK;
out:
    json_decref(obj);
    free(copy);
    return r;
}
