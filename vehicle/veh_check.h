/* Verifying a downloaded artifact before it is installed: size, SHA-256 (gnutls_hash),
 * the minisign signature over BLAKE2b-512 (ota_sign_verify) and the signed trusted
 * comment against what the vehicle was told. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ota_json.h"
#include "ota_sign.h"

struct veh_digest {
    uint64_t size;
    char sha256[65];
    uint8_t blake2b[OTA_SIGN_BLAKE2B_BYTES];
};

/* Reads @path once and computes its size, SHA-256 and BLAKE2b-512. The file is re-read
 * rather than hashed while downloading, so a download resumed across restarts is checked
 * the same way. Returns 0, -errno from open/read, or -EIO. */
int veh_check_hash_file(const char *path, struct veh_digest *ret);

/* Whether an artifact for hardware @compat (a trusted comment's hw: empty = any, or a
 * comma-separated list) may go on hardware @hw. A vehicle without a configured @hw (NULL
 * or "") accepts any. */
bool veh_check_hw_compatible(const char *compat, const char *hw);

/* Compares the announcement @u, the signed metadata @m and the computed digest @d:
 * sha256 and size must agree three ways, name and version with the announcement, and hw
 * with veh_check_hw_compatible(). Returns 0 or -EBADMSG with the reason in @err. */
int veh_check_meta(const struct ota_update_info *u, const struct ota_sign_meta *m,
                   const struct veh_digest *d, const char *hw, char *err, size_t errlen);

/* The whole check of a downloaded file @path against announcement @u (whose signature
 * text is checked against @pub). Returns 0, or -EBADMSG (does not verify) / -errno (could
 * not read it) with the reason in @err. */
int veh_check_artifact(const struct ota_sign_pub *pub, const struct ota_update_info *u,
                       const char *path, const char *hw, char *err, size_t errlen);
