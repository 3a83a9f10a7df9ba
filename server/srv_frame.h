/* Strict HTTP/1.1 request framing (RFC 9112), decided on the raw bytes of a connection
 * before libmicrohttpd parses them. Pure: no I/O, no allocation, no clock.
 *
 * Why here and not on what libmicrohttpd 0.9.75 hands the application: it cuts field values
 * at a NUL (C strings), takes a bare LF as a line end, appends an obs-fold continuation to
 * the field *name*, skips spaces between a field name and its colon unless in its most
 * lenient mode, answers an over-long chunk extension with a 500, and cannot queue an answer
 * while a body is being read. What it parsed can no longer tell those cases apart; the
 * bytes can. So every request is checked here first, in the exact bytes the peer sent, and
 * libmicrohttpd only ever parses requests this module accepted, all of which it frames the
 * same way (single Content-Length or a single final "chunked", CRLF lines, one Host).
 *
 * The checker is a state machine fed the stream in any pieces (one TLS record, one byte):
 * the same bytes give the same verdict however they are split. It keeps a few bounded
 * fragments (method, the start of the target, the framing fields' values) and ~400 bytes
 * of state per connection. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SRV_FRAME_HEADER_MAX     8192 /* request line + fields + blank line; also trailers */
#define SRV_FRAME_FIELDS_MAX     100  /* field lines per header (or trailer) section */
#define SRV_FRAME_CHUNK_LINE_MAX 256  /* chunk-size plus chunk extensions, without CRLF */
#define SRV_FRAME_METHOD_MAX     16
#define SRV_FRAME_TARGET_KEEP    256  /* bytes of the request-target kept for routing */
#define SRV_FRAME_EMPTY_LINES    4    /* CRLFs tolerated before a request line (§2.2) */

/* Why a request was refused; each maps to one status (srv_frame_error_status). */
enum srv_frame_error {
    SRV_FRAME_OK = 0,
    SRV_FRAME_E_REQUEST_LINE,      /* 400: not "method SP target SP version CRLF" */
    SRV_FRAME_E_VERSION,           /* 505: HTTP/x.y other than 1.0 and 1.1 */
    SRV_FRAME_E_TARGET,            /* 400: bad character, escape, NUL or control in target */
    SRV_FRAME_E_FIELD,             /* 400: malformed field line, whitespace before ':' */
    SRV_FRAME_E_FIELD_VALUE,       /* 400: NUL, CR, LF or another control in a value */
    SRV_FRAME_E_OBS_FOLD,          /* 400: line folding (§5.2) */
    SRV_FRAME_E_HOST,              /* 400: HTTP/1.1 without Host, or Host twice */
    SRV_FRAME_E_CONTENT_LENGTH,    /* 400: repeated, a list, or not digits */
    SRV_FRAME_E_TRANSFER_ENCODING, /* 400: not one final "chunked", with Content-Length,
                                    * or in an HTTP/1.0 request */
    SRV_FRAME_E_CHUNK,             /* 400: malformed chunked body */
    SRV_FRAME_E_CHUNK_EXT,         /* 400: chunk line longer than SRV_FRAME_CHUNK_LINE_MAX */
    SRV_FRAME_E_HEADER_TOO_LARGE,  /* 431: header or trailer section over the bounds */
    SRV_FRAME_E_TOO_LARGE,         /* 413: body over the route's limit, however framed */
    SRV_FRAME_E_COUNT
};

/* The largest body the route of @method and @path takes (0: none). @path is the raw
 * request-target's path as far as it was kept (query and absolute-form prefix removed,
 * NUL-terminated, at most SRV_FRAME_TARGET_KEEP bytes). */
typedef uint64_t srv_frame_limit_fn(void *cls, const char *method, const char *path);

struct srv_frame {
    srv_frame_limit_fn *limit;
    void *limit_cls;
    unsigned char state;
    unsigned char http_minor;  /* 0 or 1 once the version is read */
    unsigned char empty_lines; /* CRLFs seen before this request line */
    unsigned char pct;         /* hex digits still expected after '%' (target) */
    unsigned char pct_value;
    bool trailers;             /* field lines are a trailer section */
    bool ext;                  /* chunk line: the extensions' ';' was seen */
    unsigned char digits;      /* chunk line: hex digits of the size so far */
    unsigned char dead;        /* the refusal, once refused */
    uint32_t requests;         /* requests begun on this connection */
    unsigned char field;       /* which framing field the current line is */
    unsigned char hosts, lengths, encodings;
    unsigned fields;           /* field lines in this section */
    size_t section_len;        /* bytes of this header or trailer section so far */
    size_t name_len, value_len, chunk_line_len, method_len, target_len;
    uint64_t content_length;
    uint64_t body_limit;
    uint64_t body_total;   /* chunk data announced so far */
    uint64_t remaining;    /* Content-Length bytes or chunk data still to come */
    char name[24];         /* lower-cased start of the field name */
    char value[24];        /* start of a framing field's value, OWS trimmed at the front */
    char version[9];
    char method[SRV_FRAME_METHOD_MAX + 1];
    char target[SRV_FRAME_TARGET_KEEP + 1];
};

/* Starts @f at the beginning of a connection. @limit is called once per request, at the
 * end of its header section. */
void srv_frame_init(struct srv_frame *f, srv_frame_limit_fn *limit, void *limit_cls);

/* Checks the next @len bytes of the stream. Returns SRV_FRAME_OK when they are all
 * acceptable so far, or why the request they belong to is refused; @f must then not be
 * fed again. On refusal *ret_start is the offset in @buf where the refused request's
 * first byte is when that request began within this call (the bytes before it are
 * complete earlier requests), else 0. */
enum srv_frame_error srv_frame_feed(struct srv_frame *f, const char *buf, size_t len,
                                    size_t *ret_start);

/* True from the first byte of a request until the blank line after its fields: the time
 * [server] header_timeout bounds. */
bool srv_frame_in_header(const struct srv_frame *f);
/* True between requests (nothing of the next one received yet). */
bool srv_frame_idle(const struct srv_frame *f);
/* Requests begun on the connection so far (the current one included). */
uint32_t srv_frame_requests(const struct srv_frame *f);

/* The current or refused request's method and the kept start of its target ("" when not
 * read yet). Borrowed from @f. */
const char *srv_frame_method(const struct srv_frame *f);
const char *srv_frame_target(const struct srv_frame *f);

/* The path of a request-target: after "http(s)://authority" in absolute-form (§3.2.2),
 * up to '?' (not included: the caller copies @ret_len bytes). "" when @target has neither
 * form. Shared with the dispatcher, which gets the absolute-form target from
 * libmicrohttpd as is. */
const char *srv_frame_target_path(const char *target, size_t *ret_len);

unsigned srv_frame_error_status(enum srv_frame_error e);
/* A short code for the JSON body and metrics ("bad_request", "too_large", ...) and a
 * message naming the rule that was broken. */
const char *srv_frame_error_code(enum srv_frame_error e);
const char *srv_frame_error_reason(enum srv_frame_error e);
const char *srv_frame_error_message(enum srv_frame_error e);
