/* loadgen: mTLS HTTP/1.1 load generator for bench/run.sh (libcurl multi; idle mode on GnuTLS). */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/*
 * Two modes, one result line of key=value pairs on stdout:
 *
 * HTTP mode: --conns N keep-alive connections (one curl easy handle each, one multi), every
 * handle first does one warm-up request (handshake, not counted), then all of them request
 * until --requests M are done or --seconds T have passed. --range-size B walks the file in
 * sequential B-byte ranges up to --range-total. Latencies per request give percentiles.
 *
 * Idle mode (--idle K): K mTLS connections made with GnuTLS (at most --window handshakes in
 * flight), held --hold seconds, then one GET each; every answer is read.
 *
 * --pids P,P,... names server processes: their CPU time (utime+stime, from /proc/PID/stat)
 * over the measured window and their RSS (VmRSS) are reported, so that warm-up handshakes
 * do not count against per-request CPU.
 */

#define LG_MAX_PIDS    64
#define LG_MAX_HEADERS 8
#define LG_MAX_CONNS   20000
#define LG_LAT_CAP     (8u * 1024 * 1024) /* latency samples kept (64 MiB), at most */

struct lg_opts {
    const char *url;
    const char *cert;
    const char *key;
    const char *cacert;
    const char *headers[LG_MAX_HEADERS];
    unsigned n_headers;
    uint64_t conns;
    uint64_t requests;
    uint64_t seconds;
    uint64_t range_size;
    uint64_t range_total;
    uint64_t idle;
    uint64_t hold;
    uint64_t window;
    uint64_t expect; /* 0: any 2xx or 304 is success */
    int pids[LG_MAX_PIDS];
    unsigned n_pids;
};

struct lg_proc_sample {
    double cpu_s;
    uint64_t rss_kib;
};

static double lg_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Decimal digits only, <= max. No strtol on input (STYLE.md). */
static int lg_parse_u64(const char *s, uint64_t max, uint64_t *ret)
{
    uint64_t v = 0;

    if (!s || !*s)
        return -EINVAL;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -EINVAL;
        if (v > (max - (uint64_t)(*s - '0')) / 10)
            return -ERANGE;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *ret = v;
    return 0;
}

/* Sums utime+stime and VmRSS of the given pids; a pid that is gone counts as 0. */
static void lg_sample(const struct lg_opts *o, struct lg_proc_sample *ret)
{
    long tck = sysconf(_SC_CLK_TCK);
    struct lg_proc_sample s = { 0, 0 };
    char path[64], buf[4096];

    for (unsigned i = 0; i < o->n_pids; i++) {
        FILE *f;
        size_t n;
        char *p;

        snprintf(path, sizeof(path), "/proc/%d/stat", o->pids[i]);
        f = fopen(path, "re");
        if (f) {
            n = fread(buf, 1, sizeof(buf) - 1, f);
            fclose(f);
            buf[n] = '\0';
            /* comm may hold spaces and parens: fields restart after the last ") " */
            p = strrchr(buf, ')');
            if (p) {
                unsigned long long ut = 0, st = 0;
                if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
                           &st) == 2)
                    s.cpu_s += (double)(ut + st) / (double)tck;
            }
        }
        snprintf(path, sizeof(path), "/proc/%d/status", o->pids[i]);
        f = fopen(path, "re");
        if (f) {
            while (fgets(buf, sizeof(buf), f)) {
                unsigned long long kib;
                if (sscanf(buf, "VmRSS: %llu kB", &kib) == 1)
                    s.rss_kib += kib;
            }
            fclose(f);
        }
    }
    *ret = s;
}

static int lg_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double lg_pct(const double *v, size_t n, double p)
{
    size_t i;

    if (n == 0)
        return 0;
    i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

/* ------------------------------------------------------------------ HTTP mode (libcurl) */

struct lg_slot {
    CURL *h;
    double t0;
    bool counted; /* started inside the measured window */
    char range[64];
};

struct lg_run {
    const struct lg_opts *o;
    uint64_t issued;  /* counted requests started */
    uint64_t done;    /* counted requests finished */
    uint64_t errors;
    uint64_t bytes;   /* body bytes of counted requests */
    uint64_t next_off;
    uint64_t status_hist[6]; /* 1xx..5xx, [0] = no status */
    double *lat;
    size_t n_lat;
    size_t cap_lat;
};

static size_t lg_discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    uint64_t *bytes = userdata;

    (void)ptr;
    *bytes += (uint64_t)size * nmemb;
    return size * nmemb;
}

static void lg_slot_prepare(struct lg_run *r, struct lg_slot *s, bool counted)
{
    const struct lg_opts *o = r->o;

    if (o->range_size) {
        uint64_t off = r->next_off, end;

        if (off >= o->range_total)
            off = 0;
        end = off + o->range_size;
        if (end > o->range_total)
            end = o->range_total;
        snprintf(s->range, sizeof(s->range), "%llu-%llu", (unsigned long long)off,
                 (unsigned long long)(end - 1));
        curl_easy_setopt(s->h, CURLOPT_RANGE, s->range);
        r->next_off = end;
    }
    s->counted = counted;
    s->t0 = lg_now();
    if (counted)
        r->issued++;
}

static int lg_http(const struct lg_opts *o)
{
    struct lg_run r = { .o = o };
    struct curl_slist *hdrs = NULL;
    struct lg_slot *slots = NULL;
    uint64_t warm_bytes = 0, *sink = NULL;
    CURLM *m = NULL;
    struct lg_proc_sample p0 = { 0, 0 }, p1 = { 0, 0 };
    double t_start = 0, t_end = 0, deadline = 0;
    uint64_t warm_left;
    bool measuring = false;
    int rc = 1;

    slots = calloc(o->conns, sizeof(*slots));
    sink = calloc(o->conns, sizeof(*sink));
    r.cap_lat = o->requests ? (size_t)o->requests : 1u << 16;
    if (r.cap_lat > LG_LAT_CAP)
        r.cap_lat = LG_LAT_CAP;
    r.lat = malloc(r.cap_lat * sizeof(double));
    m = curl_multi_init();
    if (!slots || !sink || !r.lat || !m) {
        fprintf(stderr, "loadgen: out of memory\n");
        goto out;
    }
    for (unsigned i = 0; i < o->n_headers; i++) {
        struct curl_slist *n = curl_slist_append(hdrs, o->headers[i]);
        if (!n)
            goto out;
        hdrs = n;
    }
    curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)o->conns);
    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)o->conns);
    for (uint64_t i = 0; i < o->conns; i++) {
        CURL *h = curl_easy_init();
        if (!h)
            goto out;
        slots[i].h = h;
        curl_easy_setopt(h, CURLOPT_URL, o->url);
        curl_easy_setopt(h, CURLOPT_SSLCERT, o->cert);
        curl_easy_setopt(h, CURLOPT_SSLKEY, o->key);
        curl_easy_setopt(h, CURLOPT_CAINFO, o->cacert);
        curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
        curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 512L * 1024);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 60000L);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, lg_discard);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink[i]);
        curl_easy_setopt(h, CURLOPT_PRIVATE, &slots[i]);
        if (hdrs)
            curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        lg_slot_prepare(&r, &slots[i], false);
        curl_multi_add_handle(m, h);
    }
    warm_left = o->conns;

    for (;;) {
        int running = 0, left = 0;
        CURLMsg *msg;
        double now;

        if (curl_multi_perform(m, &running) != CURLM_OK)
            goto out;
        while ((msg = curl_multi_info_read(m, &left))) {
            struct lg_slot *s = NULL;
            long code = 0;
            size_t si;

            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
            curl_multi_remove_handle(m, msg->easy_handle);
            si = (size_t)(s - slots);
            now = lg_now();
            if (s->counted) {
                bool ok = msg->data.result == CURLE_OK &&
                          (o->expect ? (uint64_t)code == o->expect
                                     : ((code >= 200 && code < 300) || code == 304));
                r.done++;
                r.status_hist[(code >= 100 && code < 600) ? code / 100 : 0]++;
                if (!ok)
                    r.errors++;
                r.bytes += sink[si];
                if (r.n_lat == r.cap_lat && r.cap_lat < LG_LAT_CAP) {
                    double *n = realloc(r.lat, r.cap_lat * 2 * sizeof(double));
                    if (n) {
                        r.lat = n;
                        r.cap_lat *= 2;
                    }
                }
                if (r.n_lat < r.cap_lat)
                    r.lat[r.n_lat++] = now - s->t0;
            } else {
                if (msg->data.result != CURLE_OK) {
                    fprintf(stderr, "loadgen: warm-up request failed: %s\n",
                            curl_easy_strerror(msg->data.result));
                    goto out;
                }
                warm_bytes += sink[si];
                warm_left--;
            }
            sink[si] = 0;
            if (measuring) {
                if (now < deadline && (!o->requests || r.issued < o->requests)) {
                    lg_slot_prepare(&r, s, true);
                    curl_multi_add_handle(m, s->h);
                }
            } else if (warm_left == 0) {
                /* every connection is up: start the clock and the CPU window */
                measuring = true;
                lg_sample(o, &p0);
                t_start = lg_now();
                deadline = o->seconds ? t_start + (double)o->seconds : 1e300;
                r.next_off = 0;
                for (uint64_t i = 0; i < o->conns; i++) {
                    if (o->requests && r.issued >= o->requests)
                        break;
                    lg_slot_prepare(&r, &slots[i], true);
                    curl_multi_add_handle(m, slots[i].h);
                }
            }
        }
        if (measuring && r.done == r.issued &&
            (lg_now() >= deadline || (o->requests && r.issued >= o->requests)))
            break;
        if (!measuring && running == 0 && warm_left > 0) {
            fprintf(stderr, "loadgen: warm-up stalled\n");
            goto out;
        }
        curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    t_end = lg_now();
    lg_sample(o, &p1);

    qsort(r.lat, r.n_lat, sizeof(double), lg_cmp_double);
    {
        double secs = t_end - t_start;
        double cpu = p1.cpu_s - p0.cpu_s;

        printf("requests=%llu errors=%llu seconds=%.3f req_s=%.1f bytes=%llu bytes_s=%.0f "
               "p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f cpu_s=%.3f rss_kib=%llu "
               "s2xx=%llu s3xx=%llu s4xx=%llu s5xx=%llu sother=%llu\n",
               (unsigned long long)r.done, (unsigned long long)r.errors, secs,
               secs > 0 ? (double)r.done / secs : 0, (unsigned long long)r.bytes,
               secs > 0 ? (double)r.bytes / secs : 0, lg_pct(r.lat, r.n_lat, 50) * 1e3,
               lg_pct(r.lat, r.n_lat, 90) * 1e3, lg_pct(r.lat, r.n_lat, 99) * 1e3,
               lg_pct(r.lat, r.n_lat, 100) * 1e3, cpu, (unsigned long long)p1.rss_kib,
               (unsigned long long)r.status_hist[2], (unsigned long long)r.status_hist[3],
               (unsigned long long)r.status_hist[4], (unsigned long long)r.status_hist[5],
               (unsigned long long)(r.status_hist[0] + r.status_hist[1]));
    }
    rc = r.errors ? 3 : 0;
out:
    if (slots) {
        for (uint64_t i = 0; i < o->conns; i++) {
            if (slots[i].h) {
                curl_multi_remove_handle(m, slots[i].h);
                curl_easy_cleanup(slots[i].h);
            }
        }
    }
    curl_multi_cleanup(m);
    curl_slist_free_all(hdrs);
    free(r.lat);
    free(sink);
    free(slots);
    return rc;
}

/* ------------------------------------------------------------------ idle mode (GnuTLS) */

enum lg_conn_state { LG_C_NEW, LG_C_HANDSHAKE, LG_C_IDLE, LG_C_DONE, LG_C_FAILED };

struct lg_conn {
    int fd;
    gnutls_session_t s;
    enum lg_conn_state st;
    bool connected; /* TCP connect finished: from then on GnuTLS says which way to poll */
    double t0;
};

struct lg_target {
    struct sockaddr_in addr;
    char host[256];
    char path[1024];
};

/* Splits https://HOST:PORT/PATH (HOST an IPv4 literal or "localhost"). */
static int lg_target_parse(const char *url, struct lg_target *ret)
{
    struct lg_target t;
    const char *p = url, *colon, *slash;
    char port[8];
    uint64_t pn;
    size_t hl, pl;

    memset(&t, 0, sizeof(t));
    if (strncmp(p, "https://", 8) != 0)
        return -EINVAL;
    p += 8;
    colon = strchr(p, ':');
    slash = strchr(p, '/');
    if (!colon || !slash || colon > slash)
        return -EINVAL;
    hl = (size_t)(colon - p);
    pl = (size_t)(slash - colon - 1);
    if (hl == 0 || hl >= sizeof(t.host) || pl == 0 || pl >= sizeof(port) ||
        strlen(slash) >= sizeof(t.path))
        return -EINVAL;
    memcpy(t.host, p, hl);
    memcpy(port, colon + 1, pl);
    port[pl] = '\0';
    if (lg_parse_u64(port, 65535, &pn) < 0 || pn == 0)
        return -EINVAL;
    snprintf(t.path, sizeof(t.path), "%s", slash);
    t.addr.sin_family = AF_INET;
    t.addr.sin_port = htons((uint16_t)pn);
    if (strcmp(t.host, "localhost") == 0) {
        t.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else if (inet_pton(AF_INET, t.host, &t.addr.sin_addr) != 1) {
        return -EINVAL;
    }
    *ret = t;
    return 0;
}

static void lg_conn_close(struct lg_conn *c)
{
    struct linger lin = { 1, 0 };

    if (c->s) {
        gnutls_deinit(c->s);
        c->s = NULL;
    }
    if (c->fd >= 0) {
        /* RST instead of FIN: 10,000 sockets in TIME_WAIT would eat the port range */
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lin, sizeof(lin));
        close(c->fd);
        c->fd = -1;
    }
}

static int lg_conn_start(struct lg_conn *c, const struct lg_target *t,
                         gnutls_certificate_credentials_t cred)
{
    int one = 1;

    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -errno;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, (const struct sockaddr *)&t->addr, sizeof(t->addr)) < 0 &&
        errno != EINPROGRESS)
        return -errno;
    if (gnutls_init(&c->s, GNUTLS_CLIENT | GNUTLS_NONBLOCK) < 0)
        return -ENOMEM;
    if (gnutls_set_default_priority(c->s) < 0 ||
        gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE, cred) < 0 ||
        gnutls_server_name_set(c->s, GNUTLS_NAME_DNS, "localhost", 9) < 0)
        return -EIO;
    gnutls_session_set_verify_cert(c->s, "localhost", 0);
    gnutls_transport_set_int(c->s, c->fd);
    gnutls_handshake_set_timeout(c->s, 0);
    c->st = LG_C_HANDSHAKE;
    c->t0 = lg_now();
    return 0;
}

/* Reads one HTTP/1.1 response on a blocking session; returns its status or -1. */
static int lg_read_response(gnutls_session_t s)
{
    char buf[16384];
    size_t have = 0;
    uint64_t clen = 0;
    int status = -1;
    char *eoh = NULL;
    double deadline = lg_now() + 30;

    while (!eoh) {
        ssize_t n;

        if (have >= sizeof(buf) - 1)
            return -1;
        n = gnutls_record_recv(s, buf + have, sizeof(buf) - 1 - have);
        /* E_AGAIN also follows a post-handshake message (TLS 1.3 session ticket) */
        if ((n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED || n == GNUTLS_E_REHANDSHAKE) &&
            lg_now() < deadline)
            continue;
        if (n <= 0) {
            fprintf(stderr, "loadgen: recv: %s\n", n ? gnutls_strerror((int)n) : "EOF");
            return -1;
        }
        have += (size_t)n;
        buf[have] = '\0';
        eoh = strstr(buf, "\r\n\r\n");
    }
    if (have < 12 || strncmp(buf, "HTTP/1.", 7) != 0)
        return -1;
    status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
    for (char *l = strstr(buf, "\r\n"); l && l < eoh; l = strstr(l + 2, "\r\n")) {
        if (strncasecmp(l + 2, "content-length:", 15) == 0) {
            char num[24];
            const char *v = l + 17;
            size_t k = 0;
            while (*v == ' ')
                v++;
            while (k < sizeof(num) - 1 && v[k] >= '0' && v[k] <= '9') {
                num[k] = v[k];
                k++;
            }
            num[k] = '\0';
            if (lg_parse_u64(num, UINT64_MAX, &clen) < 0)
                return -1;
        }
    }
    if (status == 304 || status == 204)
        clen = 0;
    {
        uint64_t body = (uint64_t)(have - (size_t)(eoh + 4 - buf));
        while (body < clen) {
            ssize_t n = gnutls_record_recv(s, buf, sizeof(buf));
            if ((n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) && lg_now() < deadline)
                continue;
            if (n <= 0)
                return -1;
            body += (uint64_t)n;
        }
    }
    return status;
}

static int lg_idle(const struct lg_opts *o)
{
    gnutls_certificate_credentials_t cred = NULL;
    struct lg_conn *c = NULL;
    struct pollfd *pfd = NULL;
    size_t *pidx = NULL;
    struct lg_target t;
    struct lg_proc_sample p_base, p_held, p_after;
    uint64_t k = o->idle, next = 0, inflight = 0, up = 0, failed = 0, answered = 0;
    double t0, t_conn, t_req, deadline;
    char req[1400];
    int reqlen, rc = 1;

    if (lg_target_parse(o->url, &t) < 0) {
        fprintf(stderr, "loadgen: --idle needs a https://IP:PORT/PATH url\n");
        return 2;
    }
    reqlen = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n", t.path, t.host);
    for (unsigned i = 0; i < o->n_headers && reqlen > 0 && (size_t)reqlen < sizeof(req); i++)
        reqlen += snprintf(req + reqlen, sizeof(req) - (size_t)reqlen, "%s\r\n", o->headers[i]);
    if (reqlen <= 0 || (size_t)reqlen + 3 > sizeof(req)) {
        fprintf(stderr, "loadgen: request too long\n");
        return 2;
    }
    reqlen += snprintf(req + reqlen, sizeof(req) - (size_t)reqlen, "\r\n");

    if (gnutls_certificate_allocate_credentials(&cred) < 0 ||
        gnutls_certificate_set_x509_trust_file(cred, o->cacert, GNUTLS_X509_FMT_PEM) < 0 ||
        gnutls_certificate_set_x509_key_file(cred, o->cert, o->key, GNUTLS_X509_FMT_PEM) < 0) {
        fprintf(stderr, "loadgen: cannot load certificates\n");
        goto out;
    }
    c = calloc(k, sizeof(*c));
    pfd = calloc(o->window, sizeof(*pfd));
    pidx = calloc(o->window, sizeof(*pidx));
    if (!c || !pfd || !pidx)
        goto out;
    for (uint64_t i = 0; i < k; i++)
        c[i].fd = -1;

    lg_sample(o, &p_base);
    t0 = lg_now();
    deadline = t0 + 120 + (double)k / 50; /* 50 handshakes/s is far below any real server */
    /* handshakes, at most --window in flight; a failed one is counted, not retried */
    while ((next < k || inflight > 0) && lg_now() < deadline) {
        while (next < k && inflight < o->window) {
            int e = lg_conn_start(&c[next], &t, cred);
            if (e < 0) {
                if (failed == 0)
                    fprintf(stderr, "loadgen: connection %llu: %s\n",
                            (unsigned long long)next, strerror(-e));
                c[next].st = LG_C_FAILED;
                lg_conn_close(&c[next]);
                failed++;
            } else {
                pidx[inflight++] = (size_t)next;
            }
            next++;
        }
        if (inflight == 0)
            continue;
        for (uint64_t j = 0; j < inflight; j++) {
            struct lg_conn *cc = &c[pidx[j]];
            pfd[j].fd = cc->fd;
            if (!cc->connected)
                pfd[j].events = POLLOUT; /* non-blocking connect() in progress */
            else
                pfd[j].events = gnutls_record_get_direction(cc->s) ? POLLOUT : POLLIN;
            pfd[j].revents = 0;
        }
        if (poll(pfd, (nfds_t)inflight, 1000) < 0 && errno != EINTR)
            goto out;
        for (uint64_t j = inflight; j-- > 0;) {
            struct lg_conn *cc = &c[pidx[j]];
            int e;

            if (!pfd[j].revents) {
                if (lg_now() - cc->t0 < 30)
                    continue;
                e = GNUTLS_E_TIMEDOUT;
            } else {
                cc->connected = true;
                e = gnutls_handshake(cc->s);
                if (e == GNUTLS_E_AGAIN || e == GNUTLS_E_INTERRUPTED)
                    continue;
            }
            if (e < 0) {
                if (failed == 0)
                    fprintf(stderr, "loadgen: handshake: %s\n", gnutls_strerror(e));
                cc->st = LG_C_FAILED;
                lg_conn_close(cc);
                failed++;
            } else {
                cc->st = LG_C_IDLE;
                up++;
            }
            /* drop slot j: the last one moves here (j counts down, so it was handled) */
            pidx[j] = pidx[--inflight];
            pfd[j] = pfd[inflight];
        }
    }
    t_conn = lg_now();
    /* let the server finish its side (TLS 1.3: client Finished is verified after we return) */
    {
        struct timespec ts = { (time_t)o->hold, 0 };
        nanosleep(&ts, NULL);
    }
    lg_sample(o, &p_held);

    /* one request on every open connection, then read the answers */
    t_req = lg_now();
    for (uint64_t i = 0; i < k; i++) {
        struct timeval tv = { 30, 0 };
        int fl;
        ssize_t n;

        if (c[i].st != LG_C_IDLE)
            continue;
        fl = fcntl(c[i].fd, F_GETFL);
        fcntl(c[i].fd, F_SETFL, fl & ~O_NONBLOCK);
        setsockopt(c[i].fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(c[i].fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        do {
            n = gnutls_record_send(c[i].s, req, (size_t)reqlen);
        } while (n == GNUTLS_E_INTERRUPTED);
        if (n != reqlen) {
            c[i].st = LG_C_FAILED;
            lg_conn_close(&c[i]);
        }
    }
    for (uint64_t i = 0; i < k && lg_now() < t_req + 300; i++) {
        int st;

        if (c[i].st != LG_C_IDLE)
            continue;
        st = lg_read_response(c[i].s);
        if ((o->expect && st == (int)o->expect) ||
            (!o->expect && ((st >= 200 && st < 300) || st == 304))) {
            answered++;
            c[i].st = LG_C_DONE;
        } else {
            if (answered + 1 == i + 1 || i == 0)
                fprintf(stderr, "loadgen: connection %llu: no good answer (status %d)\n",
                        (unsigned long long)i, st);
            c[i].st = LG_C_FAILED;
        }
    }
    lg_sample(o, &p_after);
    {
        double tr = lg_now() - t_req;
        printf("connections=%llu up=%llu failed=%llu answered=%llu connect_s=%.3f "
               "request_s=%.3f rss_base_kib=%llu rss_held_kib=%llu rss_after_kib=%llu "
               "kib_per_conn=%.2f cpu_connect_s=%.3f cpu_request_s=%.3f\n",
               (unsigned long long)k, (unsigned long long)up, (unsigned long long)failed,
               (unsigned long long)answered, t_conn - t0, tr,
               (unsigned long long)p_base.rss_kib, (unsigned long long)p_held.rss_kib,
               (unsigned long long)p_after.rss_kib,
               up ? ((double)p_held.rss_kib - (double)p_base.rss_kib) / (double)up : 0,
               p_held.cpu_s - p_base.cpu_s, p_after.cpu_s - p_held.cpu_s);
    }
    rc = (answered == k) ? 0 : 3;
out:
    if (c) {
        for (uint64_t i = 0; i < k; i++)
            lg_conn_close(&c[i]);
    }
    free(c);
    free(pfd);
    free(pidx);
    if (cred)
        gnutls_certificate_free_credentials(cred);
    return rc;
}

/* ------------------------------------------------------------------ main */

static void lg_usage(void)
{
    fprintf(stderr,
            "usage: loadgen --url URL --cert CRT --key KEY --cacert CA\n"
            "         [--conns N] [--requests M] [--seconds T] [--header 'Name: value']...\n"
            "         [--range-size BYTES --range-total BYTES] [--expect STATUS]\n"
            "         [--idle K [--hold SECONDS] [--window W]] [--pids PID,PID,...]\n"
            "HTTP mode stops after M requests or T seconds (default 5 s), whichever is first.\n");
}

static int lg_parse_pids(const char *s, struct lg_opts *o)
{
    char one[16];

    while (*s) {
        size_t n = strcspn(s, ",");
        uint64_t v;

        if (n == 0 || n >= sizeof(one) || o->n_pids >= LG_MAX_PIDS)
            return -EINVAL;
        memcpy(one, s, n);
        one[n] = '\0';
        if (lg_parse_u64(one, INT32_MAX, &v) < 0 || v == 0)
            return -EINVAL;
        o->pids[o->n_pids++] = (int)v;
        s += n;
        if (*s == ',')
            s++;
    }
    return 0;
}

enum lg_opt_kind { LG_OPT_STR, LG_OPT_NUM, LG_OPT_HEADER, LG_OPT_PIDS };

/* One row per option; @off is the field of struct lg_opts it sets. */
static const struct lg_opt {
    const char *name;
    enum lg_opt_kind kind;
    size_t off;
    uint64_t max;
} lg_opt_table[] = {
    { "--url", LG_OPT_STR, offsetof(struct lg_opts, url), 0 },
    { "--cert", LG_OPT_STR, offsetof(struct lg_opts, cert), 0 },
    { "--key", LG_OPT_STR, offsetof(struct lg_opts, key), 0 },
    { "--cacert", LG_OPT_STR, offsetof(struct lg_opts, cacert), 0 },
    { "--header", LG_OPT_HEADER, 0, 0 },
    { "--pids", LG_OPT_PIDS, 0, 0 },
    { "--conns", LG_OPT_NUM, offsetof(struct lg_opts, conns), LG_MAX_CONNS },
    { "--requests", LG_OPT_NUM, offsetof(struct lg_opts, requests), UINT64_MAX },
    { "--seconds", LG_OPT_NUM, offsetof(struct lg_opts, seconds), 3600 },
    { "--range-size", LG_OPT_NUM, offsetof(struct lg_opts, range_size), UINT64_MAX },
    { "--range-total", LG_OPT_NUM, offsetof(struct lg_opts, range_total), UINT64_MAX },
    { "--idle", LG_OPT_NUM, offsetof(struct lg_opts, idle), LG_MAX_CONNS },
    { "--hold", LG_OPT_NUM, offsetof(struct lg_opts, hold), 3600 },
    { "--window", LG_OPT_NUM, offsetof(struct lg_opts, window), 4096 },
    { "--expect", LG_OPT_NUM, offsetof(struct lg_opts, expect), 599 },
};

/* Applies "NAME VALUE" to @o. Returns 0 or -EINVAL (message printed). */
static int lg_opt_set(struct lg_opts *o, const char *name, const char *v)
{
    const struct lg_opt *opt = NULL;
    char *base = (char *)o;

    for (size_t i = 0; i < sizeof(lg_opt_table) / sizeof(lg_opt_table[0]); i++) {
        if (strcmp(lg_opt_table[i].name, name) == 0) {
            opt = &lg_opt_table[i];
            break;
        }
    }
    if (!opt) {
        fprintf(stderr, "loadgen: unknown option '%s'\n", name);
        return -EINVAL;
    }
    switch (opt->kind) {
    case LG_OPT_STR:
        *(const char **)(base + opt->off) = v;
        return 0;
    case LG_OPT_NUM:
        if (lg_parse_u64(v, opt->max, (uint64_t *)(base + opt->off)) < 0)
            break;
        return 0;
    case LG_OPT_HEADER:
        if (o->n_headers >= LG_MAX_HEADERS)
            break;
        o->headers[o->n_headers++] = v;
        return 0;
    case LG_OPT_PIDS:
        if (lg_parse_pids(v, o) < 0)
            break;
        return 0;
    }
    fprintf(stderr, "loadgen: bad value for %s: '%s'\n", name, v);
    return -EINVAL;
}

int main(int argc, char **argv)
{
    struct lg_opts o = { .conns = 1, .window = 64, .hold = 2 };
    struct rlimit rl;
    int rc;

    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc || lg_opt_set(&o, argv[i], argv[i + 1]) < 0) {
            lg_usage();
            return 2;
        }
    }
    if (!o.url || !o.cert || !o.key || !o.cacert || o.conns == 0 || o.window == 0 ||
        (o.range_size && o.range_total == 0)) {
        lg_usage();
        return 2;
    }
    if (!o.requests && !o.seconds)
        o.seconds = 5;

    /* K connections need K descriptors */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || gnutls_global_init() < 0) {
        fprintf(stderr, "loadgen: library init failed\n");
        return 1;
    }
    rc = o.idle ? lg_idle(&o) : lg_http(&o);
    gnutls_global_deinit();
    curl_global_cleanup();
    return rc;
}
