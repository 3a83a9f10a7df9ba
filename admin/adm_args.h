/* Option parsing for ota-admin's sub-commands: a table of the options a command takes,
 * positional arguments counted, every error naming the bad argument (exit code 2). */
#pragma once
#include <stdbool.h>
#include "adm_ctx.h"

enum adm_opt_kind {
    ADM_OPT_STRING, /* --name VALUE or --name=VALUE */
    ADM_OPT_FLAG,   /* --all */
};

struct adm_opt {
    const char *name; /* with the dashes: "--version" */
    enum adm_opt_kind kind;
    const char **ret_str; /* ADM_OPT_STRING: set to the borrowed argv string */
    bool *ret_flag;       /* ADM_OPT_FLAG */
};

/* Parses @argc/@argv (the arguments after the verb) against the @nopts options in @opts.
 * "--json" is accepted by every command (sets ctx->json), "--" ends the options.
 * Positional arguments are stored in @pos (borrowed argv strings); there must be between
 * @min_pos and @max_pos of them; @pos_names (at least @min_pos entries, may be NULL when
 * @min_pos is 0) name them in the "missing argument" message. An option given twice, an unknown
 * option, a missing value or a wrong number of positionals prints a usage message naming it.
 * Returns ADM_EXIT_OK or ADM_EXIT_USAGE. */
int adm_args_parse(struct adm_ctx *ctx, int argc, char **argv, const struct adm_opt *opts,
                   size_t nopts, const char *const *pos_names, const char **pos, int min_pos,
                   int max_pos);

/* "KEY=VALUE[,KEY=VALUE...]" of option @option as a JSON object text (*ret new); the keys
 * and values themselves are checked by the domain code (ota_fleet, ota_campaign).
 * Returns ADM_EXIT_OK, ADM_EXIT_USAGE or ADM_EXIT_FAIL (message printed). */
int adm_parse_attrs(const struct adm_ctx *ctx, const char *option, const char *text, char **ret);
