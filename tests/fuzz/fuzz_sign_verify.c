/* Fuzzes ota_sign_verify() with .minisig text against one fixed public key and file digest
 * (the seeds in corpus/sign_verify/ are real signatures over ARTIFACT by that key, made
 * with minisign 0.11), and ota_sign_trusted_parse() on every comment that verifies. */
#include <errno.h>
#include <sodium.h>

#include "fuzz_util.h"
#include "ota_sign.h"

/* `minisign -G -W`'s public key; its secret half was thrown away after signing the seeds. */
#define PUBKEY                                                                                     \
    "untrusted comment: minisign public key 242F14524547CFF8\n"                                    \
    "RWT4z0dFUhQvJJLAFPypAWu8crIKFesw3LkBpSoRfPSzKgM+MdigTcdF\n"
#define ARTIFACT "ota-origin fuzz seed artifact\n"

static struct ota_sign_pub pub;
static uint8_t digest[OTA_SIGN_BLAKE2B_BYTES];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    FUZZ_CHECK(sodium_init() >= 0);
    FUZZ_CHECK(ota_sign_pub_parse(PUBKEY, strlen(PUBKEY), &pub) == 0);
    crypto_generichash(digest, sizeof(digest), (const uint8_t *)ARTIFACT, strlen(ARTIFACT), NULL,
                       0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ota_sign_meta m;
    char *comment = NULL, rebuilt[1024];
    size_t n;
    int rc;

    rc = ota_sign_verify(&pub, (const char *)data, size, digest, &comment);
    if (rc < 0) {
        FUZZ_CHECK(rc == -EINVAL || rc == -EKEYREJECTED || rc == -EBADMSG || rc == -ENOMEM);
        FUZZ_CHECK(comment == NULL);
        return 0;
    }
    FUZZ_CHECK(comment != NULL);
    n = strlen(comment);
    FUZZ_CHECK(n < size);
    for (size_t i = 0; i < n; i++) /* it stays on its line and prints safely */
        FUZZ_CHECK(((unsigned char)comment[i] >= 0x20 || comment[i] == '\t') && comment[i] != 0x7f);
    FUZZ_CHECK(ota_sign_verify(&pub, (const char *)data, size, digest, NULL) == 0);
    if (ota_sign_trusted_parse(comment, &m) == 0) {
        FUZZ_CHECK(ota_sign_trusted_comment(&m, rebuilt, sizeof(rebuilt)) == 0);
        FUZZ_CHECK(strcmp(rebuilt, comment) == 0);
    }
    free(comment);
    return 0;
}
