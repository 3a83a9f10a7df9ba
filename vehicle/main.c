/* ota-vehicle: test vehicle and fleet simulator; parses options and runs veh_run(). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "ota_log.h"
#include "ota_util.h"
#include "veh_fail.h"
#include "veh_run.h"

#define FLEET_MAX 100000

static const char usage_text[] =
    "usage: ota-vehicle --server URL --pubkey ota.pub --dir STATE_DIR [options]\n"
    "\n"
    "A vehicle: learns of its update (polling GET /v1/updates, or the retained MQTT message\n"
    "on <prefix>/vehicles/<id>/update), downloads it with resume (Range + If-Range), checks\n"
    "size, sha256, the minisign signature and its trusted comment, installs it into\n"
    "STATE_DIR/installed/<name> and reports each step (MQTT, or POST /v1/status).\n"
    "\n"
    "  --server URL          ota-server base, e.g. https://localhost:8443\n"
    "  --cacert FILE         CA of the server certificate\n"
    "  --cert FILE --key FILE  client certificate and key (mutual TLS)\n"
    "  --id ID               vehicle id (default: the CN of --cert)\n"
    "  --pubkey FILE         fleet signing public key (minisign format)\n"
    "  --dir DIR             state folder: partial/, installed/, state.json\n"
    "  --hw HW               this vehicle's hardware; a signed hw list must contain it\n"
    "                        (without --hw, any hw is accepted)\n"
    "  --mode poll|mqtt      how to learn of updates (default poll; reports always go over\n"
    "                        REST in poll mode, over MQTT in mqtt mode with REST fallback)\n"
    "  --mqtt-host H --mqtt-port P   broker (default 127.0.0.1, 1883 or 8883 with TLS)\n"
    "  --mqtt-cafile F       TLS to the broker; client cert from --mqtt-cert/--mqtt-key,\n"
    "                        or --cert/--key\n"
    "  --topic-prefix P      default ota/v1\n"
    "  --once                exit after one update is installed or failed\n"
    "  --timeout S           give up after S seconds (fleet default 600)\n"
    "  --poll-interval S     seconds between polls, may have a fraction (default: the\n"
    "                        server's poll_after)\n"
    "  --max-size N          largest artifact accepted, bytes (default 16 GiB)\n"
    "  -v, --verbose         more log (twice: libcurl and libmosquitto too)\n"
    "\n"
    "Fleet simulation (poll mode, REST reports, one process, curl multi):\n"
    "  --fleet N             run N vehicles\n"
    "  --fleet-certs DIR     DIR/<id>.crt and DIR/<id>.key per vehicle\n"
    "  --fleet-ids PATTERN|@FILE  ids: a pattern with one %d/%0Nd (default VEH%04d),\n"
    "                        or one id per line of FILE\n"
    "  --fleet-first K       first number for the pattern (default 1)\n"
    "  --parallel M          at most M downloads at once (default 32)\n"
    "  --json                summary as JSON\n"
    "  Prints 'done N failed N bytes N seconds S' at the end; per-vehicle state in\n"
    "  STATE_DIR/<id>/.\n"
    "\n"
    "Faults, for tests:\n"
    "  --cut-after K         cut the connection after K bytes of an attempt...\n"
    "  --cuts N              ...for the first N attempts (default 1)\n"
    "  --corrupt-byte OFF    flip the byte at offset OFF as it arrives\n"
    "  --stall S             stop reading for S seconds at half the artifact\n"
    "  --fail-ids LIST|@FILE  these vehicles fail on purpose: download and verify, report\n"
    "                        installing, then failed (comma list, or one id per line)\n"
    "  --fail-rate P         also those whose id hashes below P% (FNV-1a 64 of the id\n"
    "                        mod 10000 < P*100): the same ids every run, about P%\n"
    "  --fail-reason TEXT    the failed report's detail (default \"" VEH_FAIL_REASON_DEFAULT "\")\n"
    "\n"
    "Exit: 0 installed (fleet: all), 1 failed, 2 usage, 3 nothing finished within\n"
    "--timeout (--once), 4 deployment withdrawn (--once).\n";

enum {
    OPT_ID = 256,
    OPT_CERT,
    OPT_KEY,
    OPT_CACERT,
    OPT_SERVER,
    OPT_PUBKEY,
    OPT_DIR,
    OPT_HW,
    OPT_MODE,
    OPT_MQTT_HOST,
    OPT_MQTT_PORT,
    OPT_MQTT_CAFILE,
    OPT_MQTT_CERT,
    OPT_MQTT_KEY,
    OPT_TOPIC_PREFIX,
    OPT_ONCE,
    OPT_TIMEOUT,
    OPT_POLL_INTERVAL,
    OPT_MAX_SIZE,
    OPT_CUT_AFTER,
    OPT_CUTS,
    OPT_CORRUPT,
    OPT_STALL,
    OPT_FLEET,
    OPT_FLEET_CERTS,
    OPT_FLEET_IDS,
    OPT_FLEET_FIRST,
    OPT_PARALLEL,
    OPT_JSON,
    OPT_FAIL_IDS,
    OPT_FAIL_RATE,
    OPT_FAIL_REASON,
};

static const struct option long_opts[] = {
    { "id", required_argument, NULL, OPT_ID },
    { "cert", required_argument, NULL, OPT_CERT },
    { "key", required_argument, NULL, OPT_KEY },
    { "cacert", required_argument, NULL, OPT_CACERT },
    { "server", required_argument, NULL, OPT_SERVER },
    { "pubkey", required_argument, NULL, OPT_PUBKEY },
    { "dir", required_argument, NULL, OPT_DIR },
    { "hw", required_argument, NULL, OPT_HW },
    { "mode", required_argument, NULL, OPT_MODE },
    { "mqtt-host", required_argument, NULL, OPT_MQTT_HOST },
    { "mqtt-port", required_argument, NULL, OPT_MQTT_PORT },
    { "mqtt-cafile", required_argument, NULL, OPT_MQTT_CAFILE },
    { "mqtt-cert", required_argument, NULL, OPT_MQTT_CERT },
    { "mqtt-key", required_argument, NULL, OPT_MQTT_KEY },
    { "topic-prefix", required_argument, NULL, OPT_TOPIC_PREFIX },
    { "once", no_argument, NULL, OPT_ONCE },
    { "timeout", required_argument, NULL, OPT_TIMEOUT },
    { "poll-interval", required_argument, NULL, OPT_POLL_INTERVAL },
    { "max-size", required_argument, NULL, OPT_MAX_SIZE },
    { "cut-after", required_argument, NULL, OPT_CUT_AFTER },
    { "cuts", required_argument, NULL, OPT_CUTS },
    { "corrupt-byte", required_argument, NULL, OPT_CORRUPT },
    { "stall", required_argument, NULL, OPT_STALL },
    { "fleet", required_argument, NULL, OPT_FLEET },
    { "fleet-certs", required_argument, NULL, OPT_FLEET_CERTS },
    { "fleet-ids", required_argument, NULL, OPT_FLEET_IDS },
    { "fleet-first", required_argument, NULL, OPT_FLEET_FIRST },
    { "parallel", required_argument, NULL, OPT_PARALLEL },
    { "json", no_argument, NULL, OPT_JSON },
    { "fail-ids", required_argument, NULL, OPT_FAIL_IDS },
    { "fail-rate", required_argument, NULL, OPT_FAIL_RATE },
    { "fail-reason", required_argument, NULL, OPT_FAIL_REASON },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "ota-vehicle: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'ota-vehicle --help'.\n");
    return VEH_EXIT_USAGE;
}

/* "S" or "S.fff" seconds into milliseconds (at most a day). */
static int parse_seconds_ms(const char *s, int64_t *ret)
{
    uint64_t ms;

    if (ota_parse_decimal(s, 86400, 3, &ms) < 0)
        return -EINVAL;
    *ret = (int64_t)ms;
    return 0;
}

static int parse_u(const char *s, uint64_t max, uint64_t *ret, const char *name)
{
    if (ota_parse_u64(s, max, ret) < 0)
        return usage_error("%s: not a number in range", name);
    return 0;
}

int main(int argc, char **argv)
{
    _Static_assert(VEH_FAIL_REASON_MAX == 200, "--fail-reason's message says 200");
    /* static: what --fail-ids allocates stays reachable on every early return */
    static struct veh_opts o = {
        .mode = VEH_MODE_POLL,
        .mqtt_host = "127.0.0.1",
        .topic_prefix = "ota/v1",
        .poll_interval_ms = -1,
        .max_size = UINT64_C(16) << 30,
        .faults = { .corrupt_at = -1 },
        .fleet_first = 1,
        .parallel = 32,
    };
    uint64_t v, cuts = 0;
    bool have_cuts = false, have_timeout = false;
    int c;

    while ((c = getopt_long(argc, argv, "vh", long_opts, NULL)) != -1) {
        switch (c) {
        case OPT_ID:
            o.id = optarg;
            break;
        case OPT_CERT:
            o.cert = optarg;
            break;
        case OPT_KEY:
            o.key = optarg;
            break;
        case OPT_CACERT:
            o.cacert = optarg;
            break;
        case OPT_SERVER:
            o.server = optarg;
            break;
        case OPT_PUBKEY:
            o.pubkey = optarg;
            break;
        case OPT_DIR:
            o.dir = optarg;
            break;
        case OPT_HW:
            o.hw = optarg;
            break;
        case OPT_MODE:
            if (strcmp(optarg, "poll") == 0)
                o.mode = VEH_MODE_POLL;
            else if (strcmp(optarg, "mqtt") == 0)
                o.mode = VEH_MODE_MQTT;
            else
                return usage_error("--mode must be poll or mqtt, not '%s'", optarg);
            break;
        case OPT_MQTT_HOST:
            o.mqtt_host = optarg;
            break;
        case OPT_MQTT_PORT:
            if (parse_u(optarg, 65535, &v, "--mqtt-port") || v == 0)
                return VEH_EXIT_USAGE;
            o.mqtt_port = (unsigned)v;
            break;
        case OPT_MQTT_CAFILE:
            o.mqtt_cafile = optarg;
            break;
        case OPT_MQTT_CERT:
            o.mqtt_cert = optarg;
            break;
        case OPT_MQTT_KEY:
            o.mqtt_key = optarg;
            break;
        case OPT_TOPIC_PREFIX:
            o.topic_prefix = optarg;
            break;
        case OPT_ONCE:
            o.once = true;
            break;
        case OPT_TIMEOUT:
            if (parse_u(optarg, 7 * 86400, &v, "--timeout"))
                return VEH_EXIT_USAGE;
            o.timeout_s = (unsigned)v;
            have_timeout = true;
            break;
        case OPT_POLL_INTERVAL:
            if (parse_seconds_ms(optarg, &o.poll_interval_ms) < 0)
                return usage_error("--poll-interval: '%s' is not seconds (0..86400[.fff])", optarg);
            break;
        case OPT_MAX_SIZE:
            if (parse_u(optarg, UINT64_MAX, &o.max_size, "--max-size"))
                return VEH_EXIT_USAGE;
            break;
        case OPT_CUT_AFTER:
            if (parse_u(optarg, UINT64_MAX, &o.faults.cut_after, "--cut-after") ||
                o.faults.cut_after == 0)
                return usage_error("%s", "--cut-after needs a positive byte count");
            break;
        case OPT_CUTS:
            if (parse_u(optarg, 1000, &cuts, "--cuts"))
                return VEH_EXIT_USAGE;
            have_cuts = true;
            break;
        case OPT_CORRUPT:
            if (parse_u(optarg, INT64_MAX, &v, "--corrupt-byte"))
                return VEH_EXIT_USAGE;
            o.faults.corrupt_at = (int64_t)v;
            break;
        case OPT_STALL:
            if (parse_u(optarg, 3600, &v, "--stall"))
                return VEH_EXIT_USAGE;
            o.faults.stall_s = (unsigned)v;
            break;
        case OPT_FLEET:
            if (parse_u(optarg, FLEET_MAX, &v, "--fleet") || v == 0)
                return usage_error("%s", "--fleet needs 1..100000");
            o.fleet = (unsigned)v;
            break;
        case OPT_FLEET_CERTS:
            o.fleet_certs = optarg;
            break;
        case OPT_FLEET_IDS:
            o.fleet_ids = optarg;
            break;
        case OPT_FLEET_FIRST:
            if (parse_u(optarg, UINT32_MAX, &o.fleet_first, "--fleet-first"))
                return VEH_EXIT_USAGE;
            break;
        case OPT_PARALLEL:
            if (parse_u(optarg, 10000, &v, "--parallel") || v == 0)
                return usage_error("%s", "--parallel needs 1..10000");
            o.parallel = (unsigned)v;
            break;
        case OPT_JSON:
            o.json = true;
            break;
        case OPT_FAIL_IDS: {
            char err[160];
            int r = veh_fail_ids(&o.fail, optarg, err, sizeof(err));
            if (r == -ENOMEM) {
                fprintf(stderr, "ota-vehicle: out of memory\n");
                return VEH_EXIT_FAILED;
            }
            if (r < 0) {
                veh_fail_clear(&o.fail);
                return usage_error("%s", err);
            }
            break;
        }
        case OPT_FAIL_RATE:
            if (veh_fail_rate(optarg, &o.fail.rate_bp) < 0) {
                veh_fail_clear(&o.fail);
                return usage_error("--fail-rate: '%s' is not a percentage 0..100", optarg);
            }
            break;
        case OPT_FAIL_REASON:
            if (!veh_fail_reason_valid(optarg)) {
                veh_fail_clear(&o.fail);
                return usage_error("%s", "--fail-reason: 1 to 200 printable ASCII characters");
            }
            o.fail.reason = optarg;
            break;
        case 'v':
            o.verbose++;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 0;
        default:
            return usage_error("%s", "unknown option");
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (!o.server || !o.pubkey || !o.dir)
        return usage_error("%s", "--server, --pubkey and --dir are required");
    if (o.faults.cut_after)
        o.faults.cuts = have_cuts ? (unsigned)cuts : 1;
    if (o.fleet) {
        if (!o.fleet_certs)
            return usage_error("%s", "--fleet needs --fleet-certs DIR");
        if (o.mode != VEH_MODE_POLL)
            return usage_error("%s", "--fleet runs in poll mode only");
        if (o.id || o.cert || o.key)
            return usage_error("%s", "--fleet takes ids and certificates from --fleet-*");
        if (!have_timeout)
            o.timeout_s = 600;
    } else {
        if (!o.cert || !o.key)
            return usage_error("%s", "--cert and --key are required (mutual TLS)");
        o.parallel = 1;
    }
    if (o.mode == VEH_MODE_MQTT && !o.mqtt_port)
        o.mqtt_port = o.mqtt_cafile ? 8883 : 1883;
    if (!o.fail.reason)
        o.fail.reason = VEH_FAIL_REASON_DEFAULT;
    ota_log_setup("ota-vehicle", o.verbose ? OTA_LOG_DEBUG : OTA_LOG_INFO);
    c = veh_run(&o);
    veh_fail_clear(&o.fail);
    return c;
}
