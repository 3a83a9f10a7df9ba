/* libcurl plumbing shared by polls, downloads and status reports: common easy-handle
 * options (mutual TLS, timeouts), a bounded response body buffer, header capture, and the
 * client certificate's CN as the default vehicle id. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <curl/curl.h>
#include "ota_buf.h"
#include "veh_range.h"

struct veh_tls {
    const char *cacert; /* server CA; NULL = system store */
    const char *cert;   /* client certificate (PEM) */
    const char *key;    /* its key (PEM) */
};

/* A transfer run by the event loop: when it ends, the loop removes @easy from the multi
 * handle and calls @done. */
struct veh_xfer {
    CURL *easy;
    void (*done)(struct veh_xfer *x, CURLcode rc);
    void *owner;
    bool running;
};

/* curl_easy_reset()s @easy and sets what every request needs: @url, TLS files and
 * TLS >= 1.2, no redirects, no signals, connect and low-speed timeouts, header capture
 * into @resp (reset here), CURLOPT_PRIVATE = @x. Returns 0 or -EINVAL. */
int veh_http_setup(CURL *easy, const char *url, const struct veh_tls *tls, struct veh_resp *resp,
                   struct veh_xfer *x, bool verbose);

/* CURLOPT_WRITEFUNCTION for a response body kept in a heap struct ota_buf (its limit the
 * most the body may be): aborts the transfer (write error) when the body passes it
 * (ota_buf_error -E2BIG) or memory runs out. */
size_t veh_http_buf_write(char *p, size_t size, size_t n, void *userdata);

/* Copies the subject CN of the PEM certificate @path into @buf. Returns 0, -ENOENT,
 * -EINVAL (not a certificate, no CN) or -ENAMETOOLONG. */
int veh_http_cert_cn(const char *path, char *buf, size_t len);
