/* Strict HTTP/1.1 request framing on raw bytes: see srv_frame.h. Section numbers are
 * RFC 9112's unless said otherwise. */
#include "srv_frame.h"

#include <string.h>
#include <strings.h>

enum state {
    ST_IDLE,          /* between requests */
    ST_LINE_START,    /* a request began: request line or an empty line (§2.2) */
    ST_EMPTY_LF,      /* CR of an empty line before the request line */
    ST_METHOD,
    ST_TARGET,
    ST_VERSION,
    ST_REQLINE_LF,    /* CR ending the request line */
    ST_FIELD_START,   /* a field line or the blank line ending the section */
    ST_NAME,
    ST_VALUE_OWS,     /* after ':' */
    ST_VALUE,
    ST_FIELD_LF,      /* CR ending a field line */
    ST_END_LF,        /* CR of the blank line */
    ST_BODY,          /* Content-Length bytes */
    ST_CHUNK_SIZE,
    ST_CHUNK_EXT,
    ST_CHUNK_LF,      /* CR ending a chunk line */
    ST_CHUNK_DATA,
    ST_CHUNK_DATA_CR, /* the CRLF after chunk data */
    ST_CHUNK_DATA_LF,
    ST_DEAD,          /* refused: stays refused */
};

enum field { F_OTHER, F_HOST, F_CONTENT_LENGTH, F_TRANSFER_ENCODING };

/* tchar (RFC 9110 §5.6.2) */
static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* field-vchar or SP/HTAB (RFC 9110 §5.5): VCHAR, obs-text */
static bool is_value_char(unsigned char c)
{
    return c == ' ' || c == '\t' || (c >= 0x21 && c != 0x7f);
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Offset of the path in an absolute-form target ("http" or "https", "://", a non-empty
 * authority), or -1 when @t is not one. */
static long absolute_path_offset(const char *t, size_t len)
{
    size_t i;

    if (len >= 7 && strncasecmp(t, "http://", 7) == 0)
        i = 7;
    else if (len >= 8 && strncasecmp(t, "https://", 8) == 0)
        i = 8;
    else
        return -1;
    if (i == len || t[i] == '/' || t[i] == '?')
        return -1; /* empty authority */
    while (i < len && t[i] != '/' && t[i] != '?')
        i++;
    return (long)i;
}

const char *srv_frame_target_path(const char *target, size_t *ret_len)
{
    size_t len = strlen(target);
    long off = target[0] == '/' ? 0 : absolute_path_offset(target, len);
    const char *p, *q;

    if (off < 0) {
        *ret_len = 0;
        return "";
    }
    p = target + off;
    q = strchr(p, '?');
    *ret_len = q ? (size_t)(q - p) : strlen(p);
    /* "http://host" and "http://host?x" name the root (§3.2.2, RFC 3986 §6.2.3) */
    if (*ret_len == 0) {
        *ret_len = 1;
        return "/";
    }
    return p;
}

void srv_frame_init(struct srv_frame *f, srv_frame_limit_fn *limit, void *limit_cls)
{
    memset(f, 0, sizeof(*f));
    f->limit = limit;
    f->limit_cls = limit_cls;
    f->state = ST_IDLE;
}

static void begin_request(struct srv_frame *f)
{
    srv_frame_limit_fn *limit = f->limit;
    void *cls = f->limit_cls;
    uint32_t requests = f->requests;

    srv_frame_init(f, limit, cls);
    f->requests = requests + 1;
    f->state = ST_LINE_START;
}

/* The request line is complete: the target's form and escapes, then the version. */
static enum srv_frame_error end_target(struct srv_frame *f)
{
    size_t kept;
    long off;

    if (f->target_len == 0)
        return SRV_FRAME_E_REQUEST_LINE;
    if (f->pct)
        return SRV_FRAME_E_TARGET; /* '%' without two hex digits */
    if (f->target[0] == '/' || (f->target_len == 1 && f->target[0] == '*'))
        return SRV_FRAME_OK;
    /* absolute-form (§3.2.2): its scheme and authority must fit in what is kept */
    kept = strlen(f->target);
    off = absolute_path_offset(f->target, kept);
    if (off < 0 || ((size_t)off == kept && f->target_len > kept))
        return SRV_FRAME_E_TARGET;
    return SRV_FRAME_OK;
}

static enum srv_frame_error end_version(struct srv_frame *f)
{
    const char *v = f->version;

    if (strcmp(v, "HTTP/1.1") == 0) {
        f->http_minor = 1;
        return SRV_FRAME_OK;
    }
    if (strcmp(v, "HTTP/1.0") == 0) {
        f->http_minor = 0;
        return SRV_FRAME_OK;
    }
    if (strlen(v) == 8 && strncmp(v, "HTTP/", 5) == 0 && v[5] >= '0' && v[5] <= '9' &&
        v[6] == '.' && v[7] >= '0' && v[7] <= '9')
        return SRV_FRAME_E_VERSION;
    return SRV_FRAME_E_REQUEST_LINE;
}

static enum field field_of(const struct srv_frame *f)
{
    static const struct {
        const char *name;
        enum field field;
    } framing[] = {
        { "host", F_HOST },
        { "content-length", F_CONTENT_LENGTH },
        { "transfer-encoding", F_TRANSFER_ENCODING },
    };

    if (f->trailers)
        return F_OTHER; /* trailers never frame anything (RFC 9110 §6.5.1) */
    for (size_t i = 0; i < sizeof(framing) / sizeof(framing[0]); i++)
        if (f->name_len == strlen(framing[i].name) && strcmp(f->name, framing[i].name) == 0)
            return framing[i].field;
    return F_OTHER;
}

/* The value of a framing field, trailing OWS removed; NULL when longer than kept. */
static const char *framing_value(struct srv_frame *f)
{
    size_t n = f->value_len;

    if (n >= sizeof(f->value))
        return NULL;
    while (n > 0 && (f->value[n - 1] == ' ' || f->value[n - 1] == '\t'))
        n--;
    f->value[n] = '\0';
    return f->value;
}

/* One field line is complete. */
static enum srv_frame_error end_field(struct srv_frame *f)
{
    const char *v;

    switch ((enum field)f->field) {
    case F_HOST:
        return ++f->hosts > 1 ? SRV_FRAME_E_HOST : SRV_FRAME_OK;
    case F_CONTENT_LENGTH: {
        uint64_t n = 0;
        size_t i;

        /* §6.3: one field, one value; "5, 5" is a list, not a length */
        if (++f->lengths > 1 || !(v = framing_value(f)) || !v[0])
            return SRV_FRAME_E_CONTENT_LENGTH;
        for (i = 0; v[i]; i++) {
            if (v[i] < '0' || v[i] > '9')
                return SRV_FRAME_E_CONTENT_LENGTH;
            if (n > (UINT64_MAX - (uint64_t)(v[i] - '0')) / 10)
                return SRV_FRAME_E_TOO_LARGE;
            n = n * 10 + (uint64_t)(v[i] - '0');
        }
        f->content_length = n;
        return SRV_FRAME_OK;
    }
    case F_TRANSFER_ENCODING:
        /* §6.1: the only coding we take is chunked, once, so it is always final */
        if (++f->encodings > 1 || !(v = framing_value(f)) || strcasecmp(v, "chunked") != 0)
            return SRV_FRAME_E_TRANSFER_ENCODING;
        return SRV_FRAME_OK;
    case F_OTHER:
        break;
    }
    return SRV_FRAME_OK;
}

/* The blank line after the fields (or trailers) arrived. */
static enum srv_frame_error end_section(struct srv_frame *f)
{
    size_t plen;
    const char *path;
    char pathbuf[SRV_FRAME_TARGET_KEEP + 1];

    if (f->trailers) {
        f->state = ST_IDLE;
        return SRV_FRAME_OK;
    }
    if (f->hosts > 1 || (f->http_minor == 1 && f->hosts == 0))
        return SRV_FRAME_E_HOST;
    /* §6.1: Content-Length with Transfer-Encoding is a smuggling attempt, not something to
     * resolve; an HTTP/1.0 message with Transfer-Encoding has faulty framing */
    if (f->encodings && (f->lengths || f->http_minor == 0))
        return SRV_FRAME_E_TRANSFER_ENCODING;
    path = srv_frame_target_path(f->target, &plen);
    memcpy(pathbuf, path, plen);
    pathbuf[plen] = '\0';
    f->body_limit = f->limit ? f->limit(f->limit_cls, f->method, pathbuf) : 0;
    if (f->encodings) {
        f->state = ST_CHUNK_SIZE;
        f->remaining = 0;
        f->digits = 0;
        f->chunk_line_len = 0;
        return SRV_FRAME_OK;
    }
    if (f->content_length > f->body_limit)
        return SRV_FRAME_E_TOO_LARGE; /* announced: refused before any of it is read */
    f->remaining = f->content_length;
    f->state = f->remaining ? ST_BODY : ST_IDLE;
    return SRV_FRAME_OK;
}

/* A chunk line is complete; f->remaining holds its size. */
static enum srv_frame_error end_chunk_line(struct srv_frame *f)
{
    if (f->remaining == 0) {
        /* last-chunk: a trailer section follows, bounded like a header section */
        f->trailers = true;
        f->section_len = 0;
        f->fields = 0;
        f->state = ST_FIELD_START;
        return SRV_FRAME_OK;
    }
    /* refused on the announcement, before any of the chunk is read */
    if (f->remaining > f->body_limit - f->body_total)
        return SRV_FRAME_E_TOO_LARGE;
    f->body_total += f->remaining;
    f->state = ST_CHUNK_DATA;
    return SRV_FRAME_OK;
}

static bool in_section(const struct srv_frame *f)
{
    return f->state >= ST_LINE_START && f->state <= ST_END_LF;
}

/* One byte of a request line, field line or chunk line. */
static enum srv_frame_error step(struct srv_frame *f, unsigned char c)
{
    int h;

    if (in_section(f) && ++f->section_len > SRV_FRAME_HEADER_MAX)
        return SRV_FRAME_E_HEADER_TOO_LARGE;
    switch ((enum state)f->state) {
    case ST_LINE_START:
        if (c == '\r') {
            if (++f->empty_lines > SRV_FRAME_EMPTY_LINES)
                return SRV_FRAME_E_REQUEST_LINE;
            f->state = ST_EMPTY_LF;
            return SRV_FRAME_OK;
        }
        if (!is_tchar(c))
            return SRV_FRAME_E_REQUEST_LINE;
        f->method[f->method_len++] = (char)c;
        f->state = ST_METHOD;
        return SRV_FRAME_OK;
    case ST_EMPTY_LF:
        if (c != '\n')
            return SRV_FRAME_E_REQUEST_LINE;
        f->state = ST_LINE_START;
        return SRV_FRAME_OK;
    case ST_METHOD:
        if (c == ' ') {
            f->state = ST_TARGET;
            return SRV_FRAME_OK;
        }
        if (!is_tchar(c) || f->method_len == SRV_FRAME_METHOD_MAX)
            return SRV_FRAME_E_REQUEST_LINE;
        f->method[f->method_len++] = (char)c;
        return SRV_FRAME_OK;
    case ST_TARGET:
        if (c == ' ') {
            f->state = ST_VERSION;
            return end_target(f);
        }
        if (c == '\r' || c == '\n')
            return SRV_FRAME_E_REQUEST_LINE;
        /* a request-target is visible ASCII (RFC 3986), without a fragment */
        if (c < 0x21 || c > 0x7e || c == '#')
            return SRV_FRAME_E_TARGET;
        if (f->pct) {
            if ((h = hex_value(c)) < 0)
                return SRV_FRAME_E_TARGET;
            f->pct_value = (unsigned char)(f->pct_value * 16 + h);
            /* %00 and every other control: libmicrohttpd decodes them into the C string
             * it hands over, which a NUL would cut short */
            if (--f->pct == 0 && (f->pct_value < 0x20 || f->pct_value == 0x7f))
                return SRV_FRAME_E_TARGET;
        } else if (c == '%') {
            f->pct = 2;
            f->pct_value = 0;
        }
        if (f->target_len < SRV_FRAME_TARGET_KEEP)
            f->target[f->target_len] = (char)c;
        f->target_len++;
        return SRV_FRAME_OK;
    case ST_VERSION:
        if (c == '\r') {
            f->state = ST_REQLINE_LF;
            return end_version(f);
        }
        if (strlen(f->version) == sizeof(f->version) - 1 || c < 0x21 || c > 0x7e)
            return SRV_FRAME_E_REQUEST_LINE;
        f->version[strlen(f->version)] = (char)c;
        return SRV_FRAME_OK;
    case ST_REQLINE_LF:
        if (c != '\n')
            return SRV_FRAME_E_REQUEST_LINE;
        f->state = ST_FIELD_START;
        return SRV_FRAME_OK;
    case ST_FIELD_START:
        if (c == '\r') {
            f->state = ST_END_LF;
            return SRV_FRAME_OK;
        }
        if (c == ' ' || c == '\t')
            return SRV_FRAME_E_OBS_FOLD; /* §5.2; also whitespace before the first field */
        if (!is_tchar(c))
            return SRV_FRAME_E_FIELD;
        if (++f->fields > SRV_FRAME_FIELDS_MAX)
            return SRV_FRAME_E_HEADER_TOO_LARGE;
        f->name_len = 0;
        f->value_len = 0;
        f->state = ST_NAME;
        /* fall through: the byte is the name's first */
        /* FALLTHROUGH */
    case ST_NAME:
        if (c == ':') {
            if (f->name_len < sizeof(f->name))
                f->name[f->name_len] = '\0';
            f->field = (unsigned char)field_of(f);
            f->state = ST_VALUE_OWS;
            return SRV_FRAME_OK;
        }
        if (!is_tchar(c)) /* §5.1: no whitespace between the name and the colon */
            return SRV_FRAME_E_FIELD;
        if (f->name_len < sizeof(f->name) - 1)
            f->name[f->name_len] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
        f->name_len++;
        return SRV_FRAME_OK;
    case ST_VALUE_OWS:
        if (c == ' ' || c == '\t')
            return SRV_FRAME_OK;
        if (c == '\r') {
            f->state = ST_FIELD_LF;
            return SRV_FRAME_OK;
        }
        f->state = ST_VALUE;
        /* FALLTHROUGH */
    case ST_VALUE:
        if (c == '\r') {
            f->state = ST_FIELD_LF;
            return SRV_FRAME_OK;
        }
        if (!is_value_char(c)) /* NUL, a bare LF, other controls */
            return SRV_FRAME_E_FIELD_VALUE;
        if (f->value_len < sizeof(f->value) - 1)
            f->value[f->value_len] = (char)c;
        f->value_len++;
        return SRV_FRAME_OK;
    case ST_FIELD_LF:
        if (c != '\n')
            return SRV_FRAME_E_FIELD_VALUE; /* a CR inside a value */
        f->state = ST_FIELD_START;
        return end_field(f);
    case ST_END_LF:
        if (c != '\n')
            return SRV_FRAME_E_FIELD;
        return end_section(f);
    case ST_CHUNK_SIZE:
        if (c != '\r' && ++f->chunk_line_len > SRV_FRAME_CHUNK_LINE_MAX)
            return SRV_FRAME_E_CHUNK_EXT;
        if ((h = hex_value(c)) >= 0) {
            /* 16 hex digits already say more than any route takes */
            if (f->digits == 15)
                return SRV_FRAME_E_TOO_LARGE;
            f->digits++;
            f->remaining = f->remaining * 16 + (uint64_t)h;
            return SRV_FRAME_OK;
        }
        if (f->digits == 0)
            return SRV_FRAME_E_CHUNK;
        if (c == '\r') {
            f->state = ST_CHUNK_LF;
            return SRV_FRAME_OK;
        }
        if (c != ';' && c != ' ' && c != '\t')
            return SRV_FRAME_E_CHUNK;
        f->ext = c == ';';
        f->state = ST_CHUNK_EXT;
        return SRV_FRAME_OK;
    case ST_CHUNK_EXT:
        /* §7.1.1: BWS ";" ext-name ["=" ext-val] ...; read, bounded, and ignored */
        if (c == '\r') {
            f->state = ST_CHUNK_LF;
            return SRV_FRAME_OK;
        }
        if (++f->chunk_line_len > SRV_FRAME_CHUNK_LINE_MAX)
            return SRV_FRAME_E_CHUNK_EXT;
        if (!f->ext && c != ';' && c != ' ' && c != '\t')
            return SRV_FRAME_E_CHUNK; /* whitespace after the size, then not an extension */
        if (!is_value_char(c))
            return SRV_FRAME_E_CHUNK;
        f->ext = f->ext || c == ';';
        return SRV_FRAME_OK;
    case ST_CHUNK_LF:
        if (c != '\n')
            return SRV_FRAME_E_CHUNK;
        return end_chunk_line(f);
    case ST_CHUNK_DATA_CR:
        if (c != '\r')
            return SRV_FRAME_E_CHUNK;
        f->state = ST_CHUNK_DATA_LF;
        return SRV_FRAME_OK;
    case ST_CHUNK_DATA_LF:
        if (c != '\n')
            return SRV_FRAME_E_CHUNK;
        f->state = ST_CHUNK_SIZE;
        f->remaining = 0;
        f->digits = 0;
        f->chunk_line_len = 0;
        return SRV_FRAME_OK;
    case ST_IDLE:
    case ST_BODY:
    case ST_CHUNK_DATA:
    case ST_DEAD:
        break;
    }
    return SRV_FRAME_E_REQUEST_LINE; /* not reached: srv_frame_feed handles these */
}

enum srv_frame_error srv_frame_feed(struct srv_frame *f, const char *buf, size_t len,
                                    size_t *ret_start)
{
    size_t i = 0, start = 0;
    enum srv_frame_error e = SRV_FRAME_OK;

    *ret_start = 0;
    if (f->state == ST_DEAD)
        return (enum srv_frame_error)f->dead;
    while (i < len) {
        switch ((enum state)f->state) {
        case ST_IDLE:
            begin_request(f);
            start = i;
            continue;
        case ST_BODY:
        case ST_CHUNK_DATA: {
            /* body bytes are not looked at, only counted */
            size_t n = len - i < f->remaining ? len - i : (size_t)f->remaining;
            f->remaining -= n;
            i += n;
            if (f->remaining == 0)
                f->state = f->state == ST_BODY ? ST_IDLE : ST_CHUNK_DATA_CR;
            continue;
        }
        default:
            break;
        }
        e = step(f, (unsigned char)buf[i]);
        if (e != SRV_FRAME_OK)
            break;
        i++;
    }
    if (e == SRV_FRAME_OK)
        return e;
    f->state = ST_DEAD;
    f->dead = (unsigned char)e;
    *ret_start = start;
    return e;
}

bool srv_frame_in_header(const struct srv_frame *f)
{
    return in_section(f) && !f->trailers;
}

bool srv_frame_idle(const struct srv_frame *f)
{
    return f->state == ST_IDLE;
}

uint32_t srv_frame_requests(const struct srv_frame *f)
{
    return f->requests;
}

const char *srv_frame_method(const struct srv_frame *f)
{
    return f->method;
}

const char *srv_frame_target(const struct srv_frame *f)
{
    return f->target;
}

static const struct {
    unsigned status;
    const char *code;
    const char *reason;  /* metrics label */
    const char *message;
} errors[] = {
    [SRV_FRAME_OK] = { 200, "ok", "ok", "ok" },
    [SRV_FRAME_E_REQUEST_LINE] = { 400, "bad_request", "request_line",
                                   "malformed request line" },
    [SRV_FRAME_E_VERSION] = { 505, "http_version_not_supported", "version",
                              "only HTTP/1.0 and HTTP/1.1 are served" },
    [SRV_FRAME_E_TARGET] = { 400, "bad_request", "target",
                             "the request-target holds a control character, a NUL, a "
                             "fragment or a malformed percent-escape" },
    [SRV_FRAME_E_FIELD] = { 400, "bad_request", "field",
                            "malformed header field (no whitespace is allowed between a "
                            "field name and its colon)" },
    [SRV_FRAME_E_FIELD_VALUE] = { 400, "bad_request", "field_value",
                                  "a header field value holds a NUL, CR, LF or another "
                                  "control character" },
    [SRV_FRAME_E_OBS_FOLD] = { 400, "bad_request", "obs_fold",
                               "header line folding is not allowed" },
    [SRV_FRAME_E_HOST] = { 400, "bad_request", "host",
                           "an HTTP/1.1 request needs exactly one Host field" },
    [SRV_FRAME_E_CONTENT_LENGTH] = { 400, "bad_request", "content_length",
                                     "Content-Length must be one field with one decimal "
                                     "value" },
    [SRV_FRAME_E_TRANSFER_ENCODING] = { 400, "bad_request", "transfer_encoding",
                                        "Transfer-Encoding must be a single \"chunked\", "
                                        "without Content-Length, in HTTP/1.1" },
    [SRV_FRAME_E_CHUNK] = { 400, "bad_request", "chunk", "malformed chunked body" },
    [SRV_FRAME_E_CHUNK_EXT] = { 400, "bad_request", "chunk_ext",
                                "chunk extensions longer than the server accepts" },
    [SRV_FRAME_E_HEADER_TOO_LARGE] = { 431, "headers_too_large", "header_size",
                                       "the header section is too large" },
    [SRV_FRAME_E_TOO_LARGE] = { 413, "too_large", "body_size",
                                "the request body is larger than this resource takes" },
};

static unsigned index_of(enum srv_frame_error e)
{
    return (unsigned)e < sizeof(errors) / sizeof(errors[0]) ? (unsigned)e
                                                              : SRV_FRAME_E_REQUEST_LINE;
}

unsigned srv_frame_error_status(enum srv_frame_error e)
{
    return errors[index_of(e)].status;
}

const char *srv_frame_error_code(enum srv_frame_error e)
{
    return errors[index_of(e)].code;
}

const char *srv_frame_error_reason(enum srv_frame_error e)
{
    return errors[index_of(e)].reason;
}

const char *srv_frame_error_message(enum srv_frame_error e)
{
    return errors[index_of(e)].message;
}
