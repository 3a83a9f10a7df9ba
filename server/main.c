/* ota-server: options and configuration, the two MHD daemons, and the signal loop. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <microhttpd.h>

#include "ota_config.h"
#include "ota_db.h"
#include "ota_log.h"
#include "ota_sdnotify.h"
#include "ota_util.h"
#include "srv_admin.h"
#include "srv_artifact.h"
#include "srv_ctx.h"
#include "ota_cdn.h"
#include "srv_db.h"
#include "srv_guard.h"
#include "srv_interpose.h"
#include "srv_mapcache.h"
#include "srv_metrics.h"
#include "srv_route.h"
#include "srv_tls.h"

#define DRAIN_SECONDS  10        /* SIGTERM: longest wait for requests in flight */
/* MHD pool per connection, resident for its whole life: 16 KiB measured ~30 KiB per idle
 * mTLS connection in all (32 KiB: ~46 KiB). Request headers must fit in it. */
#define CONN_MEMORY    (16 * 1024)
#define ADMIN_CONNS    64

static void usage(FILE *f)
{
    fprintf(f, "Usage: ota-server [--config FILE] [--set section.key=value]... [-h]\n"
               "Without --config: $OTA_CONFIG, else " OTA_CONFIG_DEFAULT " when it exists.\n"
               "Serves the vehicle REST API and artifacts over mutual TLS ([server] listen)\n"
               "and /healthz, /metrics over plain HTTP ([server] admin_listen).\n"
               "Signals: SIGHUP reloads [tls] cert/key/client_ca, SIGTERM/SIGINT stop.\n");
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    size_t len;

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    len = strlen(msg);
    while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
        msg[--len] = '\0';
    ota_debug("mhd: %s", msg);
}

/* Resolves "host:port" from @key into @ss. Returns 0 or -EINVAL with the key in @err. */
static int resolve(const struct ota_config *cfg, const char *key, struct sockaddr_storage *ss,
                   socklen_t *sslen, char *err, size_t errlen)
{
    char host[256], buf[512], portstr[8];
    const char *value = ota_config_get(cfg, key, buf, sizeof(buf));
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE };
    struct addrinfo *ai = NULL;
    unsigned port;
    int g;

    if (!value || ota_config_hostport(value, host, sizeof(host), &port) < 0 || port == 0 ||
        port > 65535) {
        snprintf(err, errlen, "%s: expected host:port, got \"%s\"", key, value ? value : "");
        return -EINVAL;
    }
    snprintf(portstr, sizeof(portstr), "%u", port);
    g = getaddrinfo(host[0] ? host : NULL, portstr, &hints, &ai);
    if (g != 0 || !ai) {
        snprintf(err, errlen, "%s: cannot resolve \"%s\": %s", key, host, gai_strerror(g));
        return -EINVAL;
    }
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *sslen = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

static int check_database(const char *path, char *err, size_t errlen)
{
    struct ota_db *db = NULL;
    int r = ota_db_open(path, 0, &db);
    char shown[512];

    if (r < 0 && ota_db_is_url(path)) {
        char why[1024];
        snprintf(err, errlen, "paths.db: %s", ota_db_open_explain(r, path, why, sizeof(why)));
        return r;
    }
    path = ota_db_display(path, shown, sizeof(shown)); /* no password in messages */
    if (r == -ENOENT) {
        snprintf(err, errlen, "paths.db: no database at %s (run ota-admin init)", path);
        return r;
    }
    if (r < 0) {
        snprintf(err, errlen, "paths.db: cannot open %s: %s", path, strerror(-r));
        return r;
    }
    r = ota_db_check_schema(db);
    if (r == -ESTALE)
        snprintf(err, errlen, "paths.db: %s has an older schema (run ota-admin init)", path);
    else if (r == -EPROTO)
        snprintf(err, errlen, "paths.db: %s has a newer schema than this ota-server", path);
    else if (r < 0)
        snprintf(err, errlen, "paths.db: %s: %s", path, ota_db_errmsg(db));
    ota_db_close(db);
    return r;
}

static int check_priorities(const char *prio, char *err, size_t errlen)
{
    gnutls_priority_t p;
    const char *where = NULL;

    if (gnutls_priority_init(&p, prio, &where) < 0) {
        snprintf(err, errlen, "tls.priorities: invalid at \"%s\"", where ? where : prio);
        return -EINVAL;
    }
    gnutls_priority_deinit(p);
    return 0;
}

static int open_access_log(const char *path, char *err, size_t errlen)
{
    int fd;

    if (!path[0] || strcmp(path, "-") == 0)
        return STDERR_FILENO;
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        snprintf(err, errlen, "server.access_log: cannot open %s: %s", path, strerror(errno));
    return fd < 0 ? -errno : fd;
}

static int load_config(int argc, char **argv, struct ota_config *cfg, char *err, size_t errlen)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "set", required_argument, NULL, 's' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    static const char *const required[] = { "paths.db", "paths.store", "tls.cert", "tls.key",
                                            "tls.client_ca", NULL };
    const char *config = NULL;
    int c, r;

    while ((c = getopt_long(argc, argv, "c:s:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config = optarg;
            break;
        case 's':
            break; /* applied after the file, in order */
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            exit(2);
        }
    }
    if (optind < argc) {
        usage(stderr);
        exit(2);
    }
    if (!config)
        config = ota_config_default_path();
    if (config) {
        r = ota_config_load(cfg, config, err, errlen);
        if (r == -ENOENT && !err[0])
            snprintf(err, errlen, "--config: no such file %s", config);
        if (r < 0)
            return r;
    }
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:s:h", opts, NULL)) != -1)
        if (c == 's' && (r = ota_config_set_arg(cfg, optarg, err, errlen)) < 0)
            return r;
    return ota_config_require(cfg, required, err, errlen);
}

/* Descriptors the guard must be able to register: the process's limit, bounded. */
static size_t max_fds(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
        rl.rlim_cur > (1u << 20))
        return 1u << 20;
    return (size_t)rl.rlim_cur;
}

static unsigned cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 && n < 256 ? (unsigned)n : 1;
}

int main(int argc, char **argv)
{
    struct ota_config cfg;
    struct srv_ctx ctx = { .access_fd = STDERR_FILENO };
    struct MHD_Daemon *mhd = NULL, *admin = NULL;
    struct sockaddr_storage ss, ass;
    socklen_t sslen, asslen;
    const char *const *names, *const *methods;
    unsigned nroutes, threads;
    bool batching = false;
    char err[512] = "";
    sigset_t mask;
    int sfd = -1, ret = 1, r;
    MHD_socket lsock = MHD_INVALID_SOCKET;

    /* glibc returns freed memory at the top of a thread's arena to the kernel at once
     * (128 KiB trim threshold), and per-request buffers (SQLite's, a download's block)
     * then page-fault back in on the next request. Keep up to 32 MiB per arena; blocks
     * under 4 MiB come from the arena, not from mmap. */
    mallopt(M_TRIM_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
    ota_log_setup("ota-server", OTA_LOG_INFO);
    if (ota_config_init(&cfg) < 0) {
        ota_err("out of memory");
        return 1;
    }
    ctx.cfg = &cfg;
    if (load_config(argc, argv, &cfg, err, sizeof(err)) < 0 ||
        resolve(&cfg, "server.listen", &ss, &sslen, err, sizeof(err)) < 0 ||
        resolve(&cfg, "server.admin_listen", &ass, &asslen, err, sizeof(err)) < 0 ||
        check_priorities(cfg.tls.priorities, err, sizeof(err)) < 0)
        goto fail;
    if (access(cfg.paths.store, R_OK | X_OK) < 0) {
        snprintf(err, sizeof(err), "paths.store: cannot use %s: %s", cfg.paths.store,
                 strerror(errno));
        goto fail;
    }
    if (check_database(cfg.paths.db, err, sizeof(err)) < 0)
        goto fail;
    if (srv_tls_new(&cfg, &ctx.tls, err, sizeof(err)) < 0)
        goto fail;
    if (ota_cdn_open(&cfg, &ctx.cdn, err, sizeof(err)) < 0)
        goto fail;
    if (ctx.cdn)
        ota_info("artifact links point at %s (cdn.token = %s)", cfg.cdn.base_url,
                 ota_cdn_token_name(ota_cdn_token_type(ctx.cdn)));
    ctx.access_fd = open_access_log(cfg.server.access_log, err, sizeof(err));
    if (ctx.access_fd < 0)
        goto fail;
    srv_route_labels(&names, &methods, &nroutes);
    if (srv_db_new(cfg.paths.db, &ctx.db) < 0 ||
        srv_metrics_new(names, methods, nroutes, &ctx.metrics) < 0 ||
        srv_mapcache_new(ctx.metrics, SRV_ARTIFACT_MAP_BUDGET, SRV_ARTIFACT_MAP_IDLE,
                         &ctx.maps) < 0) {
        snprintf(err, sizeof(err), "out of memory");
        goto fail;
    }

    /* Threads started from here on (MHD's) inherit the mask: signals reach only signalfd. */
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    sfd = signalfd(-1, &mask, SFD_CLOEXEC);
    if (sfd < 0) {
        snprintf(err, sizeof(err), "signalfd: %s", strerror(errno));
        goto fail;
    }

    /* after the signal mask: its watchdog thread must not take SIGTERM */
    r = srv_guard_new(cfg.server.header_timeout, srv_route_body_limit, &ctx, srv_route_refused,
                      &ctx, max_fds(), &ctx.guard);
    if (r < 0) {
        snprintf(err, sizeof(err), "cannot start the request guard: %s", strerror(-r));
        goto fail;
    }
    if (srv_interpose_init(ctx.guard, cfg.server.tls_batching, MHD_get_version(), &batching, err,
                           sizeof(err)) < 0)
        goto fail;
    ctx.counts_sent = true; /* every gnutls_record_send() now reaches srv_route_sent() */
    if (cfg.server.tls_batching && !batching)
        ota_warn("libmicrohttpd %s: TLS record batching is off (proven on 0.9.75 only)",
                 MHD_get_version());
    threads = cfg.server.threads ? cfg.server.threads : cpu_count();
    /* Poll, not epoll (measured with TCP_NODELAY set, bench/README.md): in libmicrohttpd
     * 0.9.75's epoll mode a TLS handshake spins on recv()/epoll_wait() until the peer's
     * next flight (~13 epoll_wait and ~10 EAGAIN recv per connection), which doubles the
     * CPU per handshake (1.9 ms against 1.0 ms full, 1.1 against 0.6 ms resumed). epoll
     * answers 10,000 idle connections faster (1.7 s against 2.4 s); /v1/updates at 64
     * connections is within noise either way. */
    mhd = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_TLS | MHD_USE_ITC |
            MHD_USE_ERROR_LOG | (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
        0, NULL, NULL, srv_route_dispatch, &ctx,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_LIMIT, cfg.server.connection_limit,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg.server.per_ip_limit,
        MHD_OPTION_CONNECTION_TIMEOUT, cfg.server.timeout,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
        /* Host required on HTTP/1.1, no spaces in the URI: srv_guard checks both first
         * (srv_guard.h); at -1 libmicrohttpd 0.9.75 would also refuse whitespace before
         * a colon but tolerate the rest, so 1 and srv_frame for that. */
        MHD_OPTION_STRICT_FOR_CLIENT, 1,
        MHD_OPTION_HTTPS_MEM_KEY, srv_tls_key_pem(ctx.tls),
        MHD_OPTION_HTTPS_MEM_CERT, srv_tls_cert_pem(ctx.tls),
        MHD_OPTION_HTTPS_MEM_TRUST, srv_tls_ca_pem(ctx.tls),
        MHD_OPTION_HTTPS_PRIORITIES, cfg.tls.priorities,
        MHD_OPTION_NOTIFY_COMPLETED, srv_route_completed, &ctx,
        MHD_OPTION_NOTIFY_CONNECTION, srv_route_connection, &ctx,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_END);
    if (!mhd) {
        snprintf(err, sizeof(err), "server.listen: cannot listen on %s (%s)", cfg.server.listen,
                 strerror(errno));
        goto fail;
    }
    admin = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG |
            (ass.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
        0, NULL, NULL, srv_admin_dispatch, &ctx,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ass,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)ADMIN_CONNS,
        MHD_OPTION_CONNECTION_TIMEOUT, 10u,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_END);
    if (!admin) {
        snprintf(err, sizeof(err), "server.admin_listen: cannot listen on %s (%s)",
                 cfg.server.admin_listen, strerror(errno));
        goto fail;
    }
    ota_info("listening on %s (mTLS, %u threads, libmicrohttpd %s, TLS batching %s), admin on %s",
             cfg.server.listen, threads, MHD_get_version(), batching ? "on" : "off",
             cfg.server.admin_listen);
    ota_sd_notify(OTA_SD_READY, "serving on %s, admin on %s", cfg.server.listen,
                  cfg.server.admin_listen);

    for (;;) {
        struct signalfd_siginfo si;
        ssize_t n = read(sfd, &si, sizeof(si));
        if (n < 0 && errno == EINTR)
            continue;
        if (n != (ssize_t)sizeof(si)) {
            ota_err("signalfd: %s", strerror(errno));
            break;
        }
        if (si.ssi_signo == SIGHUP) {
            err[0] = '\0';
            ota_sd_notify(OTA_SD_RELOADING, "reloading the TLS certificate");
            if (srv_tls_reload(ctx.tls, err, sizeof(err)) < 0) {
                ota_err("reload failed, keeping the old certificate: %s", err);
                ota_sd_notify(OTA_SD_READY, "certificate reload failed, serving the old one: %s",
                              err);
            } else {
                ota_info("reloaded %s and %s", cfg.tls.cert, cfg.tls.key);
                ota_sd_notify(OTA_SD_READY, "serving on %s, admin on %s (certificate reloaded)",
                              cfg.server.listen, cfg.server.admin_listen);
            }
            continue;
        }
        ota_info("signal %u: stopping", si.ssi_signo);
        ota_sd_notify(OTA_SD_STOPPING, "stopping: finishing %u request(s) in flight",
                      atomic_load(&ctx.active));
        break;
    }

    /* Stop accepting, let requests in flight finish (bounded), then close the rest. */
    lsock = MHD_quiesce_daemon(mhd);
    for (int i = 0; i < DRAIN_SECONDS * 50 && atomic_load(&ctx.active) > 0; i++)
        usleep(20000);
    if (atomic_load(&ctx.active) > 0)
        ota_warn("%u requests still running after %d s: closing them", atomic_load(&ctx.active),
                 DRAIN_SECONDS);
    ret = 0;
    goto out;
fail:
    ota_err("%s", err[0] ? err : "cannot start");
out:
    if (admin)
        MHD_stop_daemon(admin);
    if (mhd)
        MHD_stop_daemon(mhd);
    if (lsock != MHD_INVALID_SOCKET)
        close(lsock);
    if (sfd >= 0)
        close(sfd);
    if (ctx.access_fd > STDERR_FILENO)
        close(ctx.access_fd);
    srv_guard_free(ctx.guard);   /* after the daemons: every connection has ended */
    srv_mapcache_free(ctx.maps); /* after the daemons: their responses released theirs */
    srv_metrics_free(ctx.metrics);
    srv_db_free(ctx.db);
    srv_tls_free(ctx.tls);
    ota_cdn_free(ctx.cdn);
    ota_config_clear(&cfg);
    return ret;
}
