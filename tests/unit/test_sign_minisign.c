/* Interop of ota_sign with the stock minisign tool: each side verifies the other's output. */
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

#include <sodium.h>

#include "ota_sign.h"
#include "ota_test.h"

#define SKIP        77 /* meson's "skipped" exit code */
#define RUN_TIMEOUT 30 /* seconds for one minisign run */

extern char **environ;

static const char *minisign;
static char tmp[] = "/tmp/test_sign_minisign.XXXXXX";

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* Runs minisign with @args in the temp folder, stdin from /dev/null (a password prompt
 * would fail instead of hanging), output to our stderr. Returns its exit code, or -1. */
static int run_minisign(const char *const *args)
{
    char *argv[16];
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int status = 0, n = 0, r;

    argv[n++] = (char *)minisign;
    for (; args[n - 1] && n < 15; n++)
        argv[n] = (char *)args[n - 1];
    argv[n] = NULL;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, 2, 1);
    r = posix_spawn(&pid, minisign, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (r != 0) {
        fprintf(stderr, "posix_spawn %s: %s\n", minisign, strerror(r));
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
    fprintf(stderr, "minisign did not finish in %d s\n", RUN_TIMEOUT);
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    return -1;
}

static char *slurp(const char *path, size_t *ret_len)
{
    char *buf;
    size_t len = 0;
    FILE *f = fopen(path, "rb");

    if (!f)
        return NULL;
    buf = malloc(1 << 20);
    if (buf)
        len = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    if (!buf)
        return NULL;
    buf[len] = '\0';
    *ret_len = len;
    return buf;
}

static int spit(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    int r = 0;

    if (!f)
        return -1;
    if (fwrite(data, 1, len, f) != len)
        r = -1;
    if (fclose(f) != 0)
        r = -1;
    return r;
}

static int file_blake2b(const char *path, uint8_t out[OTA_SIGN_BLAKE2B_BYTES])
{
    size_t len = 0;
    char *data = slurp(path, &len);

    if (!data)
        return -1;
    crypto_generichash(out, OTA_SIGN_BLAKE2B_BYTES, (const uint8_t *)data, len, NULL, 0);
    free(data);
    return 0;
}

static void flip_byte(const char *path, size_t at)
{
    size_t len = 0;
    char *data = slurp(path, &len);

    CHECK(data && at < len);
    if (data && at < len) {
        data[at] ^= 0x01;
        CHECK(spit(path, data, len) == 0);
    }
    free(data);
}

/* Our key and signature, checked by minisign. */
static void ours_to_minisign(void)
{
    static const char *const verify[] = { "-Vm", "artifact.bin", "-p", "keys/ota.pub", NULL };
    uint8_t data[100000], digest[OTA_SIGN_BLAKE2B_BYTES];
    struct ota_sign_key *k = NULL;
    char *sig = NULL, *text;
    const char *tc = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 "
                     "size:100000 name:artifact.bin version:1.0 hw:";
    size_t len = 0;
    char *at;

    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 13 + 1);
    CHECK(mkdir("keys", 0700) == 0);
    CHECK(ota_sign_keygen("keys") == 0);
    CHECK(ota_sign_key_load("keys/ota.key", &k) == 0);
    CHECK(spit("artifact.bin", data, sizeof data) == 0);
    CHECK(file_blake2b("artifact.bin", digest) == 0);
    if (!k)
        return;
    CHECK(ota_sign_minisig(k, digest, tc, &sig) == 0);
    CHECK(sig && spit("artifact.bin.minisig", sig, strlen(sig)) == 0);

    CHECK(run_minisign(verify) == 0);
    /* One byte of the file changed. */
    flip_byte("artifact.bin", 5000);
    CHECK(run_minisign(verify) == 1);
    flip_byte("artifact.bin", 5000);
    CHECK(run_minisign(verify) == 0);
    /* One byte of the trusted comment changed (the "1.0" of the version). */
    text = slurp("artifact.bin.minisig", &len);
    at = text ? strstr(text, "version:1.0") : NULL;
    CHECK(at != NULL);
    if (at) {
        at[8] = '2';
        CHECK(spit("artifact.bin.minisig", text, len) == 0);
        CHECK(run_minisign(verify) == 1);
    }
    free(text);
    free(sig);
    ota_sign_key_free(k);
}

/* minisign signing with our (unencrypted) secret key; we verify. */
static void minisign_to_ours(void)
{
    static const char *const sign[] = { "-S",        "-s", "keys/ota.key",           "-m",
                                        "other.bin", "-t", "made by stock minisign", NULL };
    static const char *const sign_legacy[] = { "-S", "-l",        "-s", "keys/ota.key",
                                               "-m", "other.bin", "-x", "legacy.minisig",
                                               NULL };
    uint8_t digest[OTA_SIGN_BLAKE2B_BYTES];
    struct ota_sign_pub pub;
    char *text, *comment = NULL;
    size_t len = 0;

    CHECK(spit("other.bin", "some other bytes\n", 17) == 0);
    CHECK(ota_sign_pub_load("keys/ota.pub", &pub) == 0);
    CHECK(file_blake2b("other.bin", digest) == 0);
    CHECK(run_minisign(sign) == 0);
    text = slurp("other.bin.minisig", &len);
    CHECK(text != NULL);
    if (text) {
        CHECK(ota_sign_verify(&pub, text, len, digest, &comment) == 0);
        CHECK(comment && strcmp(comment, "made by stock minisign") == 0);
        digest[0] ^= 1;
        CHECK(ota_sign_verify(&pub, text, len, digest, NULL) == -EBADMSG);
        digest[0] ^= 1;
    }
    free(comment);
    free(text);
    /* A legacy (whole-file, "Ed") signature is refused: we only ever verify digests. */
    CHECK(run_minisign(sign_legacy) == 0);
    text = slurp("legacy.minisig", &len);
    CHECK(text && ota_sign_verify(&pub, text, len, digest, NULL) == -EINVAL);
    free(text);
}

/* A key pair made by `minisign -G -W` (zero checksum) loads, and signs for minisign. */
static void minisign_key_to_ours(void)
{
    static const char *const gen[] = { "-G", "-W", "-p", "m.pub", "-s", "m.key", NULL };
    static const char *const verify[] = {
        "-Vm", "other.bin", "-x", "m.minisig", "-p", "m.pub", NULL
    };
    uint8_t digest[OTA_SIGN_BLAKE2B_BYTES];
    struct ota_sign_key *k = NULL;
    struct ota_sign_pub pub, pub_k;
    char *sig = NULL;

    CHECK(run_minisign(gen) == 0);
    CHECK(ota_sign_key_load("m.key", &k) == 0);
    CHECK(ota_sign_pub_load("m.pub", &pub) == 0);
    if (!k)
        return;
    ota_sign_key_public(k, &pub_k);
    CHECK(memcmp(&pub, &pub_k, sizeof pub) == 0);
    CHECK(file_blake2b("other.bin", digest) == 0);
    CHECK(ota_sign_minisig(k, digest, "from a minisign key", &sig) == 0);
    CHECK(sig && spit("m.minisig", sig, strlen(sig)) == 0);
    CHECK(run_minisign(verify) == 0);
    free(sig);
    ota_sign_key_free(k);
}

int main(int argc, char **argv)
{
    minisign = argc > 1 ? argv[1] : getenv("MINISIGN");
    if (!minisign || access(minisign, X_OK) != 0) {
        fprintf(stderr, "minisign not found: skipped\n");
        return SKIP;
    }
    if (sodium_init() < 0 || !mkdtemp(tmp) || chdir(tmp) != 0) {
        perror("setup");
        return 1;
    }
    ours_to_minisign();
    minisign_to_ours();
    minisign_key_to_ours();
    if (chdir("/") == 0)
        nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    if (ota_test_failures) {
        fprintf(stderr, "%d check(s) failed\n", ota_test_failures);
        return 1;
    }
    printf("minisign interop checks passed\n");
    return 0;
}
