/* CDN links (DESIGN.md "CDN delivery"): the absolute, content-addressed URL at the CDN that
 * ota-origin hands a vehicle for an artifact, with a token binding the path, the vehicle
 * and an expiry in a format a real CDN checks at the edge without calling the origin:
 *
 *   nginx       {base}{path}?md5=M&expires=E
 *               M = base64url, unpadded, of MD5("{E}{path}{vehicle} {secret}"): stock
 *               nginx secure_link with secure_link_md5 "$secure_link_expires$uri$vehicle
 *               secret", $vehicle taken from the client certificate's CN at the edge
 *               (deploy/cdn/nginx-edge.conf.in).
 *   akamai      {base}{path}?__token__=exp=E~acl={path}~data={vehicle}~hmac=H
 *               H = hex HMAC-SHA256 over "exp=E~acl={path}~data={vehicle}" with the
 *               hex-decoded key: Akamai EdgeAuth 2.0, as akamai-edgeauth (npm) makes it.
 *   cloudfront  {base}{path}?vehicle={vehicle}&Expires=E&Key-Pair-Id=K&Signature=S
 *               S = RSA-SHA1 over the canned policy of that URL without its last three
 *               parameters, base64 with + = / as - _ ~: what @aws-sdk/cloudfront-signer
 *               makes (getSignedUrl) for the same URL, expiry and key.
 *   none        {base}{path}: the edge trusts any fleet certificate.
 *
 * Expiries are quantised (ota_cdn_expiry): every link made for one vehicle and path in the
 * same half of token_ttl is the same string, so answers that carry links keep their ETag. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "ota_config.h"

enum ota_cdn_token { OTA_CDN_NONE, OTA_CDN_NGINX, OTA_CDN_AKAMAI, OTA_CDN_CLOUDFRONT };

#define OTA_CDN_LINK_MAX 1024 /* room for any link: base_url is at most 512 bytes */

struct ota_cdn;

/* Reads the [cdn] settings of @cfg and the key file. *ret is NULL (links stay origin
 * links) when cdn.base_url is empty. Returns 0, or -EINVAL / -ENOENT / -EACCES with the
 * key named in @err (cdn.base_url not https, cdn.token unknown or missing, cdn.key_file
 * unreadable or not the key the format needs, cdn.key_pair_id missing for cloudfront). */
int ota_cdn_open(const struct ota_config *cfg, struct ota_cdn **ret, char *err, size_t errlen);
void ota_cdn_free(struct ota_cdn *c);

enum ota_cdn_token ota_cdn_token_type(const struct ota_cdn *c);
const char *ota_cdn_token_name(enum ota_cdn_token t);

/* The expiry of links issued at @now: the end of the half-period after the one @now falls
 * in, so a link stays valid between token_ttl/2 and token_ttl. */
int64_t ota_cdn_expiry(const struct ota_cdn *c, int64_t now);
/* The half-period @now falls in: links change when it does. */
int64_t ota_cdn_period(const struct ota_cdn *c, int64_t now);

/* The link for @vehicle to @path ("/v1/artifacts/<sha256>" or with a suffix) expiring at
 * @expires, into @buf. Returns 0, -EINVAL (@vehicle not an id, @path not a plain path),
 * -ENAMETOOLONG or -EIO (the signature could not be made). */
int ota_cdn_link(struct ota_cdn *c, const char *path, const char *vehicle, int64_t expires,
                 char *buf, size_t len);
