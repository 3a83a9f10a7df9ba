/* GnuTLS credentials behind a lock so SIGHUP can swap them while connections run. */
#include "srv_tls.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gnutls/x509.h>

struct srv_tls {
    pthread_mutex_t lock;
    gnutls_certificate_credentials_t cur;
    /* Superseded credentials stay allocated until exit: a session keeps a pointer to the
     * ones it started with, and reloads are rare (a few KiB each). */
    gnutls_certificate_credentials_t *old;
    size_t nold;
    gnutls_datum_t ticket_key;
    char *cert_path, *key_path, *ca_path;
    char *cert_pem, *key_pem, *ca_pem;
};

/* Reads a whole PEM file, NUL-terminated. *ret new (free()). 0 or -errno. */
static int read_pem(const char *path, char **ret)
{
    gnutls_datum_t d = { NULL, 0 };
    char *s;

    if (gnutls_load_file(path, &d) < 0) {
        FILE *f = fopen(path, "r");
        if (!f)
            return errno == ENOENT ? -ENOENT : -EACCES;
        fclose(f);
        return -EIO;
    }
    s = malloc(d.size + 1);
    if (!s) {
        gnutls_free(d.data);
        return -ENOMEM;
    }
    memcpy(s, d.data, d.size);
    s[d.size] = '\0';
    gnutls_free(d.data);
    *ret = s;
    return 0;
}

static int load(const struct srv_tls *t, char **ret_cert, char **ret_key, char **ret_ca,
                gnutls_certificate_credentials_t *ret_cred, char *err, size_t errlen)
{
    char *cert = NULL, *key = NULL, *ca = NULL;
    gnutls_certificate_credentials_t cred = NULL;
    gnutls_datum_t dc, dk, da;
    int r, g;

    if ((r = read_pem(t->cert_path, &cert)) < 0) {
        snprintf(err, errlen, "tls.cert: cannot read %s: %s", t->cert_path, strerror(-r));
        goto out;
    }
    if ((r = read_pem(t->key_path, &key)) < 0) {
        snprintf(err, errlen, "tls.key: cannot read %s: %s", t->key_path, strerror(-r));
        goto out;
    }
    if ((r = read_pem(t->ca_path, &ca)) < 0) {
        snprintf(err, errlen, "tls.client_ca: cannot read %s: %s", t->ca_path, strerror(-r));
        goto out;
    }
    r = -ENOMEM;
    if (gnutls_certificate_allocate_credentials(&cred) < 0)
        goto out;
    r = -EINVAL;
    dc = (gnutls_datum_t){ (unsigned char *)cert, (unsigned)strlen(cert) };
    dk = (gnutls_datum_t){ (unsigned char *)key, (unsigned)strlen(key) };
    da = (gnutls_datum_t){ (unsigned char *)ca, (unsigned)strlen(ca) };
    g = gnutls_certificate_set_x509_key_mem2(cred, &dc, &dk, GNUTLS_X509_FMT_PEM, NULL, 0);
    if (g < 0) {
        snprintf(err, errlen, "tls.cert/tls.key: %s and %s: %s", t->cert_path, t->key_path,
                 gnutls_strerror(g));
        goto out;
    }
    g = gnutls_certificate_set_x509_trust_mem(cred, &da, GNUTLS_X509_FMT_PEM);
    if (g <= 0) {
        snprintf(err, errlen, "tls.client_ca: %s: %s", t->ca_path,
                 g < 0 ? gnutls_strerror(g) : "no certificate in file");
        goto out;
    }
    *ret_cert = cert;
    *ret_key = key;
    *ret_ca = ca;
    *ret_cred = cred;
    cert = key = ca = NULL;
    cred = NULL;
    r = 0;
out:
    if (cred)
        gnutls_certificate_free_credentials(cred);
    free(cert);
    if (key)
        gnutls_memset(key, 0, strlen(key));
    free(key);
    free(ca);
    return r;
}

int srv_tls_new(const struct ota_config *cfg, struct srv_tls **ret, char *err, size_t errlen)
{
    struct srv_tls *t = calloc(1, sizeof(*t));
    int r = -ENOMEM;

    if (!t)
        goto out;
    pthread_mutex_init(&t->lock, NULL);
    t->cert_path = strdup(cfg->tls.cert);
    t->key_path = strdup(cfg->tls.key);
    t->ca_path = strdup(cfg->tls.client_ca);
    if (!t->cert_path || !t->key_path || !t->ca_path)
        goto out;
    if (gnutls_session_ticket_key_generate(&t->ticket_key) < 0)
        goto out;
    r = load(t, &t->cert_pem, &t->key_pem, &t->ca_pem, &t->cur, err, errlen);
    if (r < 0)
        goto out;
    *ret = t;
    t = NULL;
out:
    if (r == -ENOMEM && err && errlen)
        snprintf(err, errlen, "tls: out of memory");
    srv_tls_free(t);
    return r;
}

int srv_tls_reload(struct srv_tls *t, char *err, size_t errlen)
{
    char *cert = NULL, *key = NULL, *ca = NULL;
    gnutls_certificate_credentials_t cred = NULL, *old;
    int r;

    r = load(t, &cert, &key, &ca, &cred, err, errlen);
    if (r < 0)
        return r;
    free(cert);
    gnutls_memset(key, 0, strlen(key));
    free(key);
    free(ca);
    pthread_mutex_lock(&t->lock);
    old = realloc(t->old, (t->nold + 1) * sizeof(*old));
    if (!old) {
        pthread_mutex_unlock(&t->lock);
        gnutls_certificate_free_credentials(cred);
        snprintf(err, errlen, "tls: out of memory");
        return -ENOMEM;
    }
    t->old = old;
    t->old[t->nold++] = t->cur;
    t->cur = cred;
    pthread_mutex_unlock(&t->lock);
    return 0;
}

const char *srv_tls_cert_pem(const struct srv_tls *t)
{
    return t->cert_pem;
}

const char *srv_tls_key_pem(const struct srv_tls *t)
{
    return t->key_pem;
}

const char *srv_tls_ca_pem(const struct srv_tls *t)
{
    return t->ca_pem;
}

void srv_tls_session_start(struct srv_tls *t, gnutls_session_t s)
{
    gnutls_certificate_credentials_t cred;

    pthread_mutex_lock(&t->lock);
    cred = t->cur;
    pthread_mutex_unlock(&t->lock);
    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
    gnutls_session_ticket_enable_server(s, &t->ticket_key);
}

int srv_tls_id_from_der(const unsigned char *der, size_t len, char ret_id[OTA_ID_MAX + 1])
{
    gnutls_datum_t d = { (unsigned char *)der, (unsigned)len };
    gnutls_x509_crt_t crt = NULL;
    char cn[OTA_ID_MAX + 2];
    char extra[8];
    size_t cnlen = sizeof(cn), elen = sizeof(extra);
    int r = -EINVAL, g;

    if (!der || len == 0 || len > UINT_MAX)
        goto out;
    if (gnutls_x509_crt_init(&crt) < 0) {
        crt = NULL;
        r = -ENOMEM;
        goto out;
    }
    if (gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER) < 0)
        goto out;
    r = -EKEYREJECTED;
    if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &cnlen) < 0)
        goto out;
    /* Exactly one CN: a second one would make the identity ambiguous. */
    g = gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 1, 0, extra, &elen);
    if (g != GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
        goto out;
    /* An embedded NUL would make the id the C string shows differ from the signed one. */
    if (cnlen != strlen(cn) || !ota_id_valid(cn))
        goto out;
    memcpy(ret_id, cn, cnlen + 1);
    r = 0;
out:
    if (crt)
        gnutls_x509_crt_deinit(crt);
    return r;
}

int srv_tls_peer_id(gnutls_session_t s, char ret_id[OTA_ID_MAX + 1])
{
    /* RFC 5280 §4.2.1.12: id-kp-clientAuth; a certificate without the extension may be
     * used for any purpose (GnuTLS accepts it). */
    gnutls_typed_vdata_st purpose = { .type = GNUTLS_DT_KEY_PURPOSE_OID,
                                      .data = (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT };
    const gnutls_datum_t *peers;
    unsigned npeers = 0, status = 0;

    if (gnutls_certificate_type_get(s) != GNUTLS_CRT_X509)
        return -ENOKEY;
    peers = gnutls_certificate_get_peers(s, &npeers);
    if (!peers || npeers == 0)
        return -ENOKEY;
    /* Chain to the trust list of the session's credentials, dates, key purpose. */
    if (gnutls_certificate_verify_peers(s, &purpose, 1, &status) < 0 || status != 0)
        return -EKEYREJECTED;
    /* The chain verified, so its leaf parses: any failure here is a CN we do not accept. */
    if (srv_tls_id_from_der(peers[0].data, peers[0].size, ret_id) < 0)
        return -EKEYREJECTED;
    return 0;
}

void srv_tls_free(struct srv_tls *t)
{
    if (!t)
        return;
    if (t->cur)
        gnutls_certificate_free_credentials(t->cur);
    for (size_t i = 0; i < t->nold; i++)
        gnutls_certificate_free_credentials(t->old[i]);
    free(t->old);
    if (t->ticket_key.data)
        gnutls_free(t->ticket_key.data);
    free(t->cert_path);
    free(t->key_path);
    free(t->ca_path);
    free(t->cert_pem);
    if (t->key_pem)
        gnutls_memset(t->key_pem, 0, strlen(t->key_pem));
    free(t->key_pem);
    free(t->ca_pem);
    pthread_mutex_destroy(&t->lock);
    free(t);
}
