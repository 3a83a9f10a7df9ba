/* Unit tests for veh_check (hashes, signature and trusted-comment match) and veh_store
 * (names, installation by rename, state.json), on files in a temporary folder. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>
#include "ota_sign.h"
#include "ota_test.h"
#include "veh_check.h"
#include "veh_store.h"

/* sha256("hello\n") */
#define HELLO_SHA "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"

static char tmp[] = "/tmp/test_veh_check.XXXXXX";

static void write_file(const char *path, const char *data)
{
    FILE *f = fopen(path, "w");

    CHECK_FATAL(f != NULL);
    fputs(data, f);
    fclose(f);
}

static void test_hw(void)
{
    CHECK(veh_check_hw_compatible("", "rev-a"));
    CHECK(veh_check_hw_compatible(NULL, "rev-a"));
    CHECK(veh_check_hw_compatible("rev-a", NULL));
    CHECK(veh_check_hw_compatible("rev-a", ""));
    CHECK(veh_check_hw_compatible("rev-a", "rev-a"));
    CHECK(veh_check_hw_compatible("rev-a,rev-b", "rev-b"));
    CHECK(!veh_check_hw_compatible("rev-a,rev-b", "rev-c"));
    CHECK(!veh_check_hw_compatible("rev-a", "rev-ab"));
    CHECK(!veh_check_hw_compatible("rev-ab", "rev-a"));
}

static void test_meta(void)
{
    struct ota_update_info u = { .size = 6, .name = "fw.bin", .version = "1.2" };
    struct ota_sign_meta m = { .size = 6, .name = "fw.bin", .version = "1.2", .hw = "rev-a" };
    struct veh_digest d = { .size = 6 };
    char err[256];

    snprintf(u.sha256, sizeof(u.sha256), "%s", HELLO_SHA);
    snprintf(m.sha256, sizeof(m.sha256), "%s", HELLO_SHA);
    snprintf(d.sha256, sizeof(d.sha256), "%s", HELLO_SHA);
    CHECK_INT(veh_check_meta(&u, &m, &d, "rev-a", err, sizeof(err)), 0);
    CHECK_INT(veh_check_meta(&u, &m, &d, NULL, err, sizeof(err)), 0);
    CHECK_INT(veh_check_meta(&u, &m, &d, "rev-b", err, sizeof(err)), -EBADMSG);
    CHECK(strstr(err, "hw") != NULL);
    m.version[2] = '3';
    CHECK_INT(veh_check_meta(&u, &m, &d, "rev-a", err, sizeof(err)), -EBADMSG);
    CHECK(strstr(err, "version") != NULL);
    m.version[2] = '2';
    m.size = 7;
    CHECK_INT(veh_check_meta(&u, &m, &d, "rev-a", err, sizeof(err)), -EBADMSG);
    CHECK(strstr(err, "size") != NULL);
    m.size = 6;
    m.sha256[0] = '6';
    CHECK_INT(veh_check_meta(&u, &m, &d, "rev-a", err, sizeof(err)), -EBADMSG);
    CHECK(strstr(err, "sha256 (signed comment)") != NULL);
    m.sha256[0] = '5';
    d.sha256[1] = '0';
    CHECK_INT(veh_check_meta(&u, &m, &d, "rev-a", err, sizeof(err)), -EBADMSG);
    CHECK(strstr(err, "sha256 (download)") != NULL);
    d.sha256[1] = '8';
    snprintf(m.name, sizeof(m.name), "other.bin");
    CHECK_INT(veh_check_meta(&u, &m, &d, "rev-a", err, sizeof(err)), -EBADMSG);
    CHECK(strstr(err, "name") != NULL);
}

/* Signs @path's BLAKE2b with @key and comment @m; returns the .minisig text (free()). */
static char *sign(const struct ota_sign_key *key, const char *path, const struct ota_sign_meta *m)
{
    struct veh_digest d;
    char comment[1024], *text = NULL;

    CHECK_FATAL(veh_check_hash_file(path, &d) == 0);
    CHECK_FATAL(ota_sign_trusted_comment(m, comment, sizeof(comment)) == 0);
    CHECK_FATAL(ota_sign_minisig(key, d.blake2b, comment, &text) == 0);
    return text;
}

static void test_artifact(void)
{
    char keys1[512], keys2[512], path[PATH_MAX], kpath[PATH_MAX], err[512];
    struct ota_sign_key *key = NULL, *other = NULL;
    struct ota_sign_pub pub;
    struct ota_sign_meta m = { .size = 6, .name = "fw.bin", .version = "1.2", .hw = "" };
    struct ota_update_info u = { .size = 6, .name = "fw.bin", .version = "1.2" };
    struct veh_digest d;

    snprintf(keys1, sizeof(keys1), "%s/k1", tmp);
    snprintf(keys2, sizeof(keys2), "%s/k2", tmp);
    CHECK_FATAL(mkdir(keys1, 0700) == 0 && mkdir(keys2, 0700) == 0);
    CHECK_FATAL(ota_sign_keygen(keys1) == 0 && ota_sign_keygen(keys2) == 0);
    snprintf(kpath, sizeof(kpath), "%s/ota.key", keys1);
    CHECK_FATAL(ota_sign_key_load(kpath, &key) == 0);
    snprintf(kpath, sizeof(kpath), "%s/ota.key", keys2);
    CHECK_FATAL(ota_sign_key_load(kpath, &other) == 0);
    snprintf(kpath, sizeof(kpath), "%s/ota.pub", keys1);
    CHECK_FATAL(ota_sign_pub_load(kpath, &pub) == 0);

    snprintf(path, sizeof(path), "%s/hello", tmp);
    write_file(path, "hello\n");
    CHECK_INT(veh_check_hash_file(path, &d), 0);
    CHECK_STR(d.sha256, HELLO_SHA);
    CHECK_INT(d.size, 6);
    snprintf(u.sha256, sizeof(u.sha256), "%s", HELLO_SHA);
    snprintf(m.sha256, sizeof(m.sha256), "%s", HELLO_SHA);

    /* good */
    u.signature = sign(key, path, &m);
    CHECK_INT(veh_check_artifact(&pub, &u, path, "rev-a", err, sizeof(err)), 0);
    free(u.signature);

    /* hw in the signed comment does not fit this vehicle */
    snprintf(m.hw, sizeof(m.hw), "rev-b");
    u.signature = sign(key, path, &m);
    CHECK_INT(veh_check_artifact(&pub, &u, path, "rev-a", err, sizeof(err)), -EBADMSG);
    CHECK(strstr(err, "hw") != NULL);
    CHECK_INT(veh_check_artifact(&pub, &u, path, "rev-b", err, sizeof(err)), 0);
    free(u.signature);
    m.hw[0] = '\0';

    /* signed by another key */
    u.signature = sign(other, path, &m);
    CHECK_INT(veh_check_artifact(&pub, &u, path, NULL, err, sizeof(err)), -EBADMSG);
    CHECK(strstr(err, "signature") != NULL);
    free(u.signature);

    /* comment says another version than the announcement */
    snprintf(m.version, sizeof(m.version), "1.3");
    u.signature = sign(key, path, &m);
    CHECK_INT(veh_check_artifact(&pub, &u, path, NULL, err, sizeof(err)), -EBADMSG);
    CHECK(strstr(err, "version") != NULL);
    free(u.signature);
    snprintf(m.version, sizeof(m.version), "1.2");

    /* a byte changed after signing: caught by sha256 before the signature */
    u.signature = sign(key, path, &m);
    write_file(path, "hellO\n");
    CHECK_INT(veh_check_artifact(&pub, &u, path, NULL, err, sizeof(err)), -EBADMSG);
    CHECK(strstr(err, "sha256") != NULL);
    free(u.signature);

    /* garbage signature text */
    write_file(path, "hello\n");
    u.signature = "not a signature";
    CHECK_INT(veh_check_artifact(&pub, &u, path, NULL, err, sizeof(err)), -EBADMSG);
    CHECK(strstr(err, "signature") != NULL);
    u.signature = NULL;
    CHECK_INT(veh_check_artifact(&pub, &u, path, NULL, err, sizeof(err)), -EBADMSG);

    snprintf(path, sizeof(path), "%s/missing", tmp);
    CHECK_INT(veh_check_artifact(&pub, &u, path, NULL, err, sizeof(err)), -ENOENT);
    ota_sign_key_free(key);
    ota_sign_key_free(other);
}

static void test_store(void)
{
    char dir[512], part[PATH_MAX], inst[PATH_MAX];
    struct veh_store_state s = { .campaign = 42, .state = OTA_DEPLOY_INSTALLED }, got;
    struct stat st;

    CHECK(veh_store_name_valid("fw-1.2+b3.bin"));
    CHECK(!veh_store_name_valid(".hidden"));
    CHECK(!veh_store_name_valid(".."));
    CHECK(!veh_store_name_valid("a/b"));
    CHECK(!veh_store_name_valid(""));
    CHECK(!veh_store_name_valid(NULL));
    CHECK(!veh_store_name_valid("a b"));

    snprintf(dir, sizeof(dir), "%s/state", tmp);
    CHECK_INT(veh_store_prepare(dir), 0);
    CHECK_INT(veh_store_prepare(dir), 0); /* idempotent */
    CHECK_INT(veh_store_state_load(dir, &got), -ENOENT);
    CHECK_INT(veh_store_partial_path(dir, "xyz", part, sizeof(part)), -EINVAL);
    CHECK_INT(veh_store_partial_path(dir, HELLO_SHA, part, sizeof(part)), 0);
    write_file(part, "hello\n");
    CHECK_INT(veh_store_install(dir, HELLO_SHA, "../escape"), -EINVAL);
    CHECK_INT(veh_store_install(dir, HELLO_SHA, "fw.bin"), 0);
    snprintf(inst, sizeof(inst), "%s/installed/fw.bin", dir);
    CHECK_INT(stat(inst, &st), 0);
    CHECK_INT(st.st_size, 6);
    CHECK(access(part, F_OK) != 0);
    CHECK_INT(veh_store_install(dir, HELLO_SHA, "fw.bin"), -ENOENT); /* nothing to install */
    CHECK_INT(stat(inst, &st), 0);                                   /* old one untouched */

    snprintf(s.sha256, sizeof(s.sha256), "%s", HELLO_SHA);
    snprintf(s.name, sizeof(s.name), "fw.bin");
    snprintf(s.version, sizeof(s.version), "1.2");
    CHECK_INT(veh_store_state_save(dir, &s), 0);
    CHECK_INT(veh_store_state_load(dir, &got), 0);
    CHECK_INT(got.campaign, 42);
    CHECK_STR(got.sha256, HELLO_SHA);
    CHECK_STR(got.version, "1.2");
    CHECK_INT(got.state, OTA_DEPLOY_INSTALLED);
    snprintf(part, sizeof(part), "%s/state.json", dir);
    write_file(part, "{\"campaign\":\"x\"}");
    CHECK_INT(veh_store_state_load(dir, &got), -EINVAL);
}

int main(void)
{
    char cmd[PATH_MAX + 16];
    int ret;

    CHECK_FATAL(sodium_init() >= 0);
    CHECK_FATAL(mkdtemp(tmp) != NULL);
    test_hw();
    test_meta();
    test_artifact();
    test_store();
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
    ret = system(cmd);
    (void)ret;
    TEST_DONE();
}
