/* The one INI configuration all programs read (inih), with defaults and command-line
 * overrides. Keys are validated when set, so a bad value is refused with its name. */
#pragma once
#include <stddef.h>

/* TLS 1.2/1.3, AEAD only, forward-secret key exchange only; AES-GCM first and the server's
 * order wins (%SERVER_PRECEDENCE): GnuTLS's ChaCha20 is ~15x slower than AES-GCM here.
 * X25519 first: it is the key share OpenSSL and curl send, so no HelloRetryRequest. */
#define OTA_TLS_PRIORITIES_DEFAULT                                                        \
    "SECURE128:+SECURE192:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-128-GCM:" \
    "+AES-256-GCM:+CHACHA20-POLY1305:-AES-128-CCM:-AES-256-CCM:-KX-ALL:+ECDHE-ECDSA:"    \
    "+ECDHE-RSA:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:"              \
    "%SERVER_PRECEDENCE"

/* Where programs read their configuration without --config (and without $OTA_CONFIG). */
#define OTA_CONFIG_DEFAULT "/etc/ota-origin/ota.conf"

/* The configuration file to read when no --config was given: $OTA_CONFIG when set (it
 * must then exist), else OTA_CONFIG_DEFAULT when it exists, else NULL (defaults and
 * command-line options only). */
const char *ota_config_default_path(void);

struct ota_config {
    struct {
        char *db;    /* SQLite database file */
        char *store; /* artifact store folder */
        char *keys;  /* folder of ota.key and ota.pub */
    } paths;
    struct {
        char *listen;       /* "host:port" or "[v6]:port" of the mTLS listener */
        char *admin_listen; /* plain-HTTP /healthz and /metrics, loopback by default */
        char *public_url;   /* absolute base for links (hawkBit DDI) */
        char *tenant;       /* hawkBit tenant, default DEFAULT */
        char *access_log;   /* "-" (stderr, default) or a file path */
        unsigned threads;   /* 0 = one per core */
        unsigned connection_limit;
        unsigned per_ip_limit; /* 0 = no limit */
        unsigned timeout;      /* idle seconds before a connection is closed */
        unsigned header_timeout; /* seconds for a request's whole header section */
        unsigned tls_batching;   /* 1: several TLS records per write event (if proven) */
        unsigned poll_after;   /* seconds a vehicle should wait between polls */
        unsigned max_ranges;   /* parts of one multipart/byteranges answer */
    } server;
    struct {
        char *cert;
        char *key;
        char *client_ca;
        char *priorities;
    } tls;
    struct {
        char *host;
        unsigned port;
        char *cafile;
        char *certfile;
        char *keyfile;
        char *topic_prefix;
        char *client_id;
        unsigned keepalive;
        char *protocol; /* "5" or "3.1.1" */
    } mqtt;
    struct {
        unsigned interval_ms;  /* longest wait between outbox checks */
        unsigned max_inflight; /* QoS 1 messages awaiting PUBACK */
        char *stats_file;      /* counters written here (Prometheus text); "" = none */
    } notifier;
    struct {
        char *base_url;     /* "" = artifact links stay origin links (ota_cdn.h) */
        char *token;        /* nginx, akamai, cloudfront or none */
        unsigned token_ttl; /* seconds a link is valid at most */
        char *key_file;
        char *key_pair_id; /* cloudfront */
    } cdn;
};

/* Fills @c with the defaults. Returns 0 or -ENOMEM. Free with ota_config_clear(). */
int ota_config_init(struct ota_config *c);

/* Reads the INI file at @path over the current values. Unknown sections or keys and bad
 * values fail with a message naming "section.key" (and the line) in @err.
 * Returns 0, -ENOENT (no such file), -EINVAL or -ENOMEM. */
int ota_config_load(struct ota_config *c, const char *path, char *err, size_t errlen);

/* Sets one key, e.g. ("server", "threads", "4"). Same validation and errors as a file. */
int ota_config_set(struct ota_config *c, const char *section, const char *key, const char *value,
                   char *err, size_t errlen);

/* Sets "section.key=value" as given on a command line (--set server.threads=4). */
int ota_config_set_arg(struct ota_config *c, const char *arg, char *err, size_t errlen);

/* Fails with -EINVAL and "section.key is required" if a needed string key is empty.
 * @keys is a NULL-terminated list of "section.key" names. */
int ota_config_require(const struct ota_config *c, const char *const *keys, char *err,
                       size_t errlen);

/* Returns the value of "section.key" as a string (numbers are formatted into @buf), or
 * NULL for an unknown key. */
const char *ota_config_get(const struct ota_config *c, const char *name, char *buf, size_t len);

/* Splits "host:port", "[v6]:port" or ":port" into @host (without brackets; "" for any)
 * and @port. Returns 0 or -EINVAL. */
int ota_config_hostport(const char *s, char *host, size_t hostlen, unsigned *port);

/* Frees every string; @c may then be initialised again. */
void ota_config_clear(struct ota_config *c);
