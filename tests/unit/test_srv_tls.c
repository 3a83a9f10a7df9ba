/* srv_tls_id_from_der: certificates made at test time by certs/mkca.sh and mkcert.sh (and
 * openssl or certtool for subjects mkcert.sh will not write), as DER, mapped to an id. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#include "srv_tls.h"
#include "ota_test.h"

#define SKIP        77 /* meson's "skipped" exit code */
#define RUN_TIMEOUT 60 /* seconds for one script or openssl run */

extern char **environ;

static const char *certs_dir; /* the source tree's certs/ */
static char tmp[] = "/tmp/test_srv_tls.XXXXXX";

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* Runs argv (searched in PATH), stdin from /dev/null, stdout to our stderr, bounded.
 * Returns its exit code, or -1. */
static int run(char *const *argv)
{
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int status = 0, r;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, 2, 1);
    r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (r != 0) {
        fprintf(stderr, "posix_spawn %s: %s\n", argv[0], strerror(r));
        return -1;
    }
    for (int i = 0; i < RUN_TIMEOUT * 100; i++) {
        struct timespec ts = { 0, 10 * 1000 * 1000 };

        r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        if (r < 0)
            return -1;
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "%s did not finish in %d s\n", argv[0], RUN_TIMEOUT);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

/* mkcert.sh DIR KIND NAME [--cn CN] [--key TYPE]: 0 when it made tmp/NAME.crt. */
static int mkcert(const char *kind, const char *name, const char *cn, const char *key)
{
    char script[4096];
    char *argv[10];
    int n = 0;

    snprintf(script, sizeof(script), "%s/mkcert.sh", certs_dir);
    argv[n++] = script;
    argv[n++] = tmp;
    argv[n++] = (char *)kind;
    argv[n++] = (char *)name;
    if (cn) {
        argv[n++] = "--cn";
        argv[n++] = (char *)cn;
    }
    if (key) {
        argv[n++] = "--key";
        argv[n++] = (char *)key;
    }
    argv[n] = NULL;
    return run(argv);
}

/* A self-signed certificate with subject @subj (openssl -subj syntax), for subjects
 * mkcert.sh refuses to write (several CNs, none). 0 when it made tmp/NAME.crt. */
static int openssl_cert(const char *name, const char *subj)
{
    char key[4096], crt[4096];
    char *argv[] = { "openssl", "req",     "-x509",      "-new",
                     "-newkey", "ec",      "-pkeyopt",   "ec_paramgen_curve:P-256",
                     "-nodes",  "-keyout", key,          "-out",
                     crt,       "-subj",   (char *)subj, "-days",
                     "1",       NULL };

    snprintf(key, sizeof(key), "%s/%s.key", tmp, name);
    snprintf(crt, sizeof(crt), "%s/%s.crt", tmp, name);
    return run(argv);
}

/* A self-signed certificate whose CN is @cn, by certtool: openssl refuses a CN longer
 * than 64 bytes (X.520's upper bound), a peer's certificate need not. */
static int certtool_cert(const char *name, const char *cn)
{
    char key[4096], crt[4096], tmpl[4096];
    char *genkey[] = { "certtool", "--generate-privkey", "--key-type", "ecdsa", "--outfile", key,
                       NULL };
    char *gencrt[] = { "certtool",
                       "--generate-self-signed",
                       "--load-privkey",
                       key,
                       "--template",
                       tmpl,
                       "--outfile",
                       crt,
                       NULL };
    FILE *f;

    snprintf(key, sizeof(key), "%s/%s.key", tmp, name);
    snprintf(crt, sizeof(crt), "%s/%s.crt", tmp, name);
    snprintf(tmpl, sizeof(tmpl), "%s/%s.tmpl", tmp, name);
    f = fopen(tmpl, "w");
    if (!f)
        return -1;
    fprintf(f, "cn = \"%s\"\nexpiration_days = 1\n", cn);
    fclose(f);
    if (run(genkey) != 0)
        return -1;
    return run(gencrt);
}

/* Reads tmp/NAME.crt (PEM) as DER. On success *ret is new (gnutls_free()). */
static int load_der(const char *name, gnutls_datum_t *ret)
{
    gnutls_datum_t pem = { NULL, 0 };
    char path[4096];
    int g;

    snprintf(path, sizeof(path), "%s/%s.crt", tmp, name);
    if (gnutls_load_file(path, &pem) < 0)
        return -ENOENT;
    g = gnutls_pem_base64_decode2("CERTIFICATE", &pem, ret);
    gnutls_free(pem.data);
    return g < 0 ? -EINVAL : 0;
}

/* The id of tmp/NAME.crt must be @want_rc and, for 0, @want_id. */
static void check_cert(const char *name, int want_rc, const char *want_id)
{
    char id[OTA_ID_MAX + 1] = "";
    gnutls_datum_t der = { NULL, 0 };

    if (load_der(name, &der) < 0) {
        fprintf(stderr, "%s: no certificate made\n", name);
        ota_test_failures++;
        return;
    }
    CHECK_RC(srv_tls_id_from_der(der.data, der.size, id), want_rc);
    if (want_rc == 0)
        CHECK_STR(id, want_id);
    gnutls_free(der.data);
}

/* Cut, emptied and rewritten copies of a good DER. */
static void check_damaged(const char *name, const char *cn)
{
    gnutls_datum_t der = { NULL, 0 };
    char id[OTA_ID_MAX + 1] = "";
    unsigned char *p;

    if (load_der(name, &der) < 0) {
        fprintf(stderr, "%s: no certificate made\n", name);
        ota_test_failures++;
        return;
    }
    CHECK_RC(srv_tls_id_from_der(der.data, 0, id), -EINVAL);
    CHECK_RC(srv_tls_id_from_der(NULL, 10, id), -EINVAL);
    CHECK_RC(srv_tls_id_from_der(der.data, der.size / 2, id), -EINVAL);
    CHECK_RC(srv_tls_id_from_der(der.data, der.size - 1, id), -EINVAL);
    CHECK_RC(srv_tls_id_from_der((const unsigned char *)"not a certificate", 17, id), -EINVAL);
    /* A NUL inside the CN: the DER still parses (signatures are not checked here), the
     * C string would read "VIN" while the certificate says more. */
    p = memmem(der.data, der.size, cn, strlen(cn));
    CHECK_FATAL(p != NULL);
    p[3] = '\0';
    CHECK_RC(srv_tls_id_from_der(der.data, der.size, id), -EKEYREJECTED);
    /* A byte the id rule refuses. */
    p[3] = '/';
    CHECK_RC(srv_tls_id_from_der(der.data, der.size, id), -EKEYREJECTED);
    gnutls_free(der.data);
}

int main(int argc, char **argv)
{
    char script[4096];
    char *mkca[] = { script, tmp, NULL };
    char *version[] = { "openssl", "version", NULL };
    char *certtool[] = { "certtool", "--version", NULL };
    char id64[OTA_ID_MAX + 1], id65[OTA_ID_MAX + 2];

    if (argc != 2) {
        fprintf(stderr, "usage: %s CERTS_DIR\n", argv[0]);
        return 2;
    }
    certs_dir = argv[1];
    if (run(version) != 0 || run(certtool) != 0) {
        fprintf(stderr, "openssl or certtool not found: skipped\n");
        return SKIP;
    }
    CHECK_FATAL(mkdtemp(tmp) != NULL);
    snprintf(script, sizeof(script), "%s/mkca.sh", certs_dir);
    CHECK_FATAL(run(mkca) == 0);

    memset(id64, 'a', OTA_ID_MAX);
    id64[OTA_ID_MAX] = '\0';
    memset(id65, 'b', OTA_ID_MAX + 1);
    id65[OTA_ID_MAX + 1] = '\0';
    CHECK_FATAL(mkcert("client", "WDB1234567890", NULL, NULL) == 0);
    CHECK_FATAL(mkcert("edge", "cdn-fra1", NULL, NULL) == 0);
    CHECK_FATAL(mkcert("client", "ed", "VIN.ed25519_1", "ed25519") == 0);
    CHECK_FATAL(mkcert("client", "rsa", "VIN-rsa", "rsa") == 0);
    CHECK_FATAL(mkcert("client", "long64", id64, NULL) == 0);
    CHECK_FATAL(certtool_cert("long65", id65) == 0);
    CHECK_FATAL(mkcert("client", "space", "VIN 1", NULL) == 0);
    CHECK_FATAL(mkcert("client", "slash", "a/b", NULL) == 0);
    CHECK_FATAL(mkcert("client", "utf8", "VIN\xc3\xa9", NULL) == 0);
    CHECK_FATAL(openssl_cert("two", "/CN=VIN1/CN=VIN2") == 0);
    CHECK_FATAL(openssl_cert("none", "/O=ota-origin test") == 0);

    check_cert("WDB1234567890", 0, "WDB1234567890");
    check_cert("cdn-fra1", 0, "cdn-fra1");
    check_cert("ed", 0, "VIN.ed25519_1");
    check_cert("rsa", 0, "VIN-rsa");
    check_cert("long64", 0, id64);
    check_cert("long65", -EKEYREJECTED, NULL);
    check_cert("space", -EKEYREJECTED, NULL);
    check_cert("slash", -EKEYREJECTED, NULL);
    check_cert("utf8", -EKEYREJECTED, NULL);
    check_cert("two", -EKEYREJECTED, NULL);
    check_cert("none", -EKEYREJECTED, NULL);
    check_cert("ca", -EKEYREJECTED, NULL); /* "ota-origin dev fleet CA": spaces */
    check_damaged("WDB1234567890", "WDB1234567890");

    nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    TEST_DONE();
}
