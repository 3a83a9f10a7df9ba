/* libcurl easy-handle setup, bounded bodies, header capture, certificate CN. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include "veh_http.h"

#define CONNECT_TIMEOUT_S 15
#define LOW_SPEED_TIME_S  30 /* abort a transfer slower than 1 byte/s for this long */

static size_t header_cb(char *p, size_t size, size_t n, void *userdata)
{
    veh_range_header_line(userdata, p, size * n);
    return size * n;
}

int veh_http_setup(CURL *easy, const char *url, const struct veh_tls *tls, struct veh_resp *resp,
                   struct veh_xfer *x, bool verbose)
{
    CURLcode c = CURLE_OK;

    curl_easy_reset(easy);
    memset(resp, 0, sizeof(*resp));
#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (c == CURLE_OK)                                                                         \
            c = curl_easy_setopt(easy, opt, val);                                                  \
    } while (0)
    SET(CURLOPT_URL, url);
    SET(CURLOPT_PROTOCOLS_STR, "https,http");
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    if (tls->cacert)
        SET(CURLOPT_CAINFO, tls->cacert);
    if (tls->cert) {
        SET(CURLOPT_SSLCERT, tls->cert);
        SET(CURLOPT_SSLCERTTYPE, "PEM");
    }
    if (tls->key) {
        SET(CURLOPT_SSLKEY, tls->key);
        SET(CURLOPT_SSLKEYTYPE, "PEM");
    }
    SET(CURLOPT_CONNECTTIMEOUT, (long)CONNECT_TIMEOUT_S);
    SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
    SET(CURLOPT_LOW_SPEED_TIME, (long)LOW_SPEED_TIME_S);
    SET(CURLOPT_USERAGENT, "ota-vehicle/0.1");
    SET(CURLOPT_HEADERFUNCTION, header_cb);
    SET(CURLOPT_HEADERDATA, resp);
    SET(CURLOPT_PRIVATE, x);
    SET(CURLOPT_VERBOSE, verbose ? 1L : 0L);
#undef SET
    return c == CURLE_OK ? 0 : -EINVAL;
}

size_t veh_http_buf_write(char *p, size_t size, size_t n, void *userdata)
{
    struct ota_buf *b = userdata;
    size_t add = size * n;

    if (n && add / n != size)
        return 0;
    ota_buf_put(b, p, add);
    return ota_buf_error(b) ? 0 : add;
}

int veh_http_cert_cn(const char *path, char *buf, size_t len)
{
    gnutls_datum_t pem = { NULL, 0 };
    gnutls_x509_crt_t crt = NULL;
    size_t n = len;
    int r = -EINVAL, g;

    g = gnutls_load_file(path, &pem);
    if (g < 0) {
        r = -ENOENT;
        goto out;
    }
    if (gnutls_x509_crt_init(&crt) < 0) {
        crt = NULL;
        r = -ENOMEM;
        goto out;
    }
    if (gnutls_x509_crt_import(crt, &pem, GNUTLS_X509_FMT_PEM) < 0)
        goto out;
    g = gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, buf, &n);
    if (g == GNUTLS_E_SHORT_MEMORY_BUFFER) {
        r = -ENAMETOOLONG;
        goto out;
    }
    if (g < 0)
        goto out;
    r = 0;
out:
    if (crt)
        gnutls_x509_crt_deinit(crt);
    gnutls_free(pem.data);
    return r;
}
