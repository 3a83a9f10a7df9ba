/* srv_tls_batch: srv_tls_batch_send() over a real TLS 1.3 session (PSK, a
 * socketpair): several records per call, never more than SRV_TLS_BATCH_MAX, and the
 * exact byte stream when the socket fills up in the middle of a batch. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <gnutls/gnutls.h>

#include "ota_test.h"
#include "srv_tls_batch.h"

#define TOTAL (8u * 1024 * 1024 + 12345) /* not a multiple of a record */
#define RECORD 16384
#define PRIO "NORMAL:-VERS-ALL:+VERS-TLS1.3:+ECDHE-PSK:+PSK"

static const unsigned char psk_key[16] = "0123456789abcdef";

struct side {
    gnutls_session_t s;
    gnutls_psk_server_credentials_t scred;
    gnutls_psk_client_credentials_t ccred;
    int fd;
};

static int server_psk(gnutls_session_t s, const char *user, gnutls_datum_t *key)
{
    (void)s;
    if (strcmp(user, "t") != 0)
        return -1;
    key->data = gnutls_malloc(sizeof(psk_key));
    if (!key->data)
        return -1;
    memcpy(key->data, psk_key, sizeof(psk_key));
    key->size = sizeof(psk_key);
    return 0;
}

static void *handshake_thread(void *arg)
{
    struct side *c = arg;
    int r;

    do
        r = gnutls_handshake(c->s);
    while (r < 0 && !gnutls_error_is_fatal(r));
    return (void *)(intptr_t)r;
}

/* The pattern byte at stream offset @i. */
static unsigned char pat(size_t i)
{
    return (unsigned char)(i * 2654435761u >> 13);
}

struct reader {
    struct side *c;
    size_t got;
    size_t bad_at; /* first wrong offset, or SIZE_MAX */
};

static void *read_thread(void *arg)
{
    struct reader *rd = arg;
    static char buf[65536];

    while (rd->got < TOTAL) {
        ssize_t n = gnutls_record_recv(rd->c->s, buf, sizeof(buf));
        if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
            continue;
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            if ((unsigned char)buf[i] != pat(rd->got + (size_t)i) && rd->bad_at == SIZE_MAX)
                rd->bad_at = rd->got + (size_t)i;
        rd->got += (size_t)n;
    }
    return NULL;
}

int main(void)
{
    struct side srv = { 0 }, cli = { 0 };
    gnutls_datum_t key = { (unsigned char *)psk_key, sizeof(psk_key) };
    struct reader rd = { .c = &cli, .bad_at = SIZE_MAX };
    pthread_t th;
    void *hs;
    int sv[2], flags;
    unsigned char *data;
    size_t sent = 0, calls = 0, batched = 0, over = 0, eagain = 0;

    CHECK(srv_tls_batch_proven("0.9.75"));
    CHECK(!srv_tls_batch_proven("0.9.76") && !srv_tls_batch_proven("1.0.0"));
    CHECK(!srv_tls_batch_proven(NULL));
    CHECK(gnutls_global_init() == 0);
    data = malloc(TOTAL);
    CHECK(data != NULL);
    for (size_t i = 0; i < TOTAL; i++)
        data[i] = pat(i);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    srv.fd = sv[0];
    cli.fd = sv[1];

    CHECK(gnutls_psk_allocate_server_credentials(&srv.scred) == 0);
    gnutls_psk_set_server_credentials_function(srv.scred, server_psk);
    CHECK(gnutls_init(&srv.s, GNUTLS_SERVER) == 0);
    CHECK(gnutls_priority_set_direct(srv.s, PRIO, NULL) == 0);
    CHECK(gnutls_credentials_set(srv.s, GNUTLS_CRD_PSK, srv.scred) == 0);
    gnutls_transport_set_int(srv.s, srv.fd);

    CHECK(gnutls_psk_allocate_client_credentials(&cli.ccred) == 0);
    CHECK(gnutls_psk_set_client_credentials(cli.ccred, "t", &key, GNUTLS_PSK_KEY_RAW) == 0);
    CHECK(gnutls_init(&cli.s, GNUTLS_CLIENT) == 0);
    CHECK(gnutls_priority_set_direct(cli.s, PRIO, NULL) == 0);
    CHECK(gnutls_credentials_set(cli.s, GNUTLS_CRD_PSK, cli.ccred) == 0);
    gnutls_transport_set_int(cli.s, cli.fd);

    CHECK(pthread_create(&th, NULL, handshake_thread, &cli) == 0);
    CHECK(handshake_thread(&srv) == 0);
    CHECK(pthread_join(th, &hs) == 0);
    CHECK((intptr_t)hs == 0);

    /* The server side as libmicrohttpd drives it: non-blocking, poll on EAGAIN, the next
     * call where the bytes reported end. Nobody reads yet, so the socket fills and a
     * batch meets EAGAIN part-way; then the reader starts. */
    flags = fcntl(srv.fd, F_GETFL);
    CHECK(flags >= 0 && fcntl(srv.fd, F_SETFL, flags | O_NONBLOCK) == 0);
    while (sent < TOTAL) {
        ssize_t r = srv_tls_batch_send(gnutls_record_send, srv.s, data + sent, TOTAL - sent);
        calls++;
        if (r == GNUTLS_E_AGAIN) {
            struct pollfd p = { .fd = srv.fd, .events = POLLOUT };
            if (eagain++ == 0)
                CHECK(pthread_create(&th, NULL, read_thread, &rd) == 0);
            CHECK(poll(&p, 1, 10000) == 1);
            continue;
        }
        CHECK(r > 0);
        if (r > RECORD)
            batched++;
        if (r > SRV_TLS_BATCH_MAX)
            over++;
        sent += (size_t)r;
    }
    if (eagain == 0)
        CHECK(pthread_create(&th, NULL, read_thread, &rd) == 0);
    shutdown(srv.fd, SHUT_WR); /* a short stream ends the reader instead of hanging it */
    CHECK(pthread_join(th, NULL) == 0);

    CHECK_INT(rd.got, TOTAL);
    CHECK_INT(rd.bad_at, SIZE_MAX);
    CHECK(batched > 0);  /* several records per call */
    CHECK_INT(over, 0); /* ... never more than the cap */
    CHECK(eagain > 0);   /* the socket did fill mid-stream */
    printf("# %zu calls, %zu batched, %zu EAGAIN for %u bytes\n", calls, batched, eagain,
           TOTAL);

    gnutls_deinit(srv.s);
    gnutls_deinit(cli.s);
    gnutls_psk_free_server_credentials(srv.scred);
    gnutls_psk_free_client_credentials(cli.ccred);
    close(sv[0]);
    close(sv[1]);
    free(data);
    gnutls_global_deinit();
    TEST_DONE();
}
