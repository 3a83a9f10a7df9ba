/* Artifact verification: hashes, minisign signature, trusted comment match. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <gnutls/crypto.h>
#include <sodium.h>
#include "ota_util.h"
#include "veh_check.h"

int veh_check_hash_file(const char *path, struct veh_digest *ret)
{
    crypto_generichash_state b2;
    gnutls_hash_hd_t sha = NULL;
    uint8_t buf[65536], sum[32];
    struct veh_digest d = { 0 };
    int fd = -1, r = -EIO;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        r = -errno;
        goto out;
    }
    if (gnutls_hash_init(&sha, GNUTLS_DIG_SHA256) < 0) {
        sha = NULL;
        goto out;
    }
    if (crypto_generichash_init(&b2, NULL, 0, sizeof(d.blake2b)) != 0)
        goto out;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = -errno;
            goto out;
        }
        if (n == 0)
            break;
        if (gnutls_hash(sha, buf, (size_t)n) < 0 ||
            crypto_generichash_update(&b2, buf, (unsigned long long)n) != 0)
            goto out;
        d.size += (uint64_t)n;
    }
    gnutls_hash_output(sha, sum);
    ota_hex(sum, sizeof(sum), d.sha256);
    if (crypto_generichash_final(&b2, d.blake2b, sizeof(d.blake2b)) != 0)
        goto out;
    *ret = d;
    r = 0;
out:
    if (sha)
        gnutls_hash_deinit(sha, NULL);
    if (fd >= 0)
        close(fd);
    return r;
}

bool veh_check_hw_compatible(const char *compat, const char *hw)
{
    size_t hn;
    const char *p;

    if (!compat || !*compat || !hw || !*hw)
        return true;
    hn = strlen(hw);
    p = compat;
    for (;;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);

        if (n == hn && memcmp(p, hw, n) == 0)
            return true;
        if (!e)
            return false;
        p = e + 1;
    }
}

static int fail(char *err, size_t errlen, const char *what, const char *want, const char *got)
{
    snprintf(err, errlen, "%s mismatch: expected %s, got %s", what, want, got);
    return -EBADMSG;
}

int veh_check_meta(const struct ota_update_info *u, const struct ota_sign_meta *m,
                   const struct veh_digest *d, const char *hw, char *err, size_t errlen)
{
    char a[32], b[32];

    if (d->size != u->size) {
        snprintf(a, sizeof(a), "%" PRIu64, u->size);
        snprintf(b, sizeof(b), "%" PRIu64, d->size);
        return fail(err, errlen, "size (download)", a, b);
    }
    if (strcmp(d->sha256, u->sha256) != 0)
        return fail(err, errlen, "sha256 (download)", u->sha256, d->sha256);
    if (strcmp(m->sha256, u->sha256) != 0)
        return fail(err, errlen, "sha256 (signed comment)", u->sha256, m->sha256);
    if (m->size != u->size) {
        snprintf(a, sizeof(a), "%" PRIu64, u->size);
        snprintf(b, sizeof(b), "%" PRIu64, m->size);
        return fail(err, errlen, "size (signed comment)", a, b);
    }
    if (u->name && strcmp(m->name, u->name) != 0)
        return fail(err, errlen, "name (signed comment)", u->name, m->name);
    if (u->version && strcmp(m->version, u->version) != 0)
        return fail(err, errlen, "version (signed comment)", u->version, m->version);
    if (!veh_check_hw_compatible(m->hw, hw))
        return fail(err, errlen, "hw (signed comment)", hw, m->hw);
    return 0;
}

int veh_check_artifact(const struct ota_sign_pub *pub, const struct ota_update_info *u,
                       const char *path, const char *hw, char *err, size_t errlen)
{
    struct veh_digest d;
    struct ota_sign_meta m;
    char *comment = NULL;
    int r;

    r = veh_check_hash_file(path, &d);
    if (r < 0) {
        snprintf(err, errlen, "cannot read download: %s", strerror(-r));
        goto out;
    }
    /* Cheap checks first, so a corrupt download says "sha256" rather than "signature". */
    r = -EBADMSG;
    if (d.size != u->size || strcmp(d.sha256, u->sha256) != 0) {
        memset(&m, 0, sizeof(m));
        snprintf(m.sha256, sizeof(m.sha256), "%s", u->sha256);
        m.size = u->size;
        r = veh_check_meta(u, &m, &d, NULL, err, errlen);
        goto out;
    }
    if (!u->signature || strlen(u->signature) > OTA_SIGN_TEXT_MAX) {
        snprintf(err, errlen, "signature missing or too long");
        goto out;
    }
    switch (ota_sign_verify(pub, u->signature, strlen(u->signature), d.blake2b, &comment)) {
    case 0:
        break;
    case -EKEYREJECTED:
        snprintf(err, errlen, "signature: made with another key than the fleet public key");
        goto out;
    case -EBADMSG:
        snprintf(err, errlen, "signature: does not verify");
        goto out;
    default:
        snprintf(err, errlen, "signature: malformed");
        goto out;
    }
    if (!comment || ota_sign_trusted_parse(comment, &m) < 0) {
        snprintf(err, errlen, "signature: trusted comment is not sha256/size/name/version/hw");
        goto out;
    }
    r = veh_check_meta(u, &m, &d, hw, err, errlen);
out:
    free(comment);
    return r;
}
