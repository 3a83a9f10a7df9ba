/* The broker session's life as a state machine with no I/O and no clock of its own: when
 * to try again, which failure is worth a log line, when an outage ends. Every way of not
 * getting a session (TCP, TLS, a broker that closes on our CONNECT or never answers it, a
 * CONNACK that refuses, a session dropped right after it began) goes through
 * ntf_session_failed() and so backs off the same way: exponentially, with jitter, to a
 * cap (ota_backoff.h). ntf_daemon.c feeds it events and prints what it says to print. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include "ota_backoff.h"

#define NTF_SESSION_BACKOFF_MIN_MS 500
#define NTF_SESSION_BACKOFF_MAX_MS 30000
#define NTF_SESSION_CONNACK_MS     10000 /* CONNECT sent, no CONNACK by then: a failure */
#define NTF_SESSION_STABLE_MS      10000 /* a session lost sooner was not really had */
#define NTF_SESSION_REASON_MAX     256

enum ntf_session_state {
    NTF_SESSION_DOWN,       /* no connection; the next attempt at next_ms */
    NTF_SESSION_CONNECTING, /* CONNECT sent, waiting for the CONNACK */
    NTF_SESSION_UP,         /* CONNACK accepted */
};

struct ntf_session {
    enum ntf_session_state state;
    struct ota_backoff backoff;
    int64_t next_ms;         /* DOWN: the next attempt is due then */
    int64_t deadline_ms;     /* CONNECTING: the CONNACK is due by then */
    int64_t up_since_ms;     /* UP: since then */
    int64_t outage_since_ms; /* the first failure of the current outage */
    unsigned failures;       /* in a row, in this outage */
    uint64_t failures_total;
    unsigned last_delay_ms;              /* the wait chosen after the last failure */
    bool young_loss;                     /* the last failure was a session dropped at once */
    char reason[NTF_SESSION_REASON_MAX]; /* of the last failure; "" once a session held */
};

/* @seed 0: random jitter (tests pass a fixed one). The first attempt is due at once. */
void ntf_session_init(struct ntf_session *s, uint64_t seed);
/* DOWN and the next attempt is due. */
bool ntf_session_due(const struct ntf_session *s, int64_t now);
/* The connection is open and CONNECT sent. */
void ntf_session_connecting(struct ntf_session *s, int64_t now);
/* CONNECTING for longer than NTF_SESSION_CONNACK_MS. */
bool ntf_session_connack_overdue(const struct ntf_session *s, int64_t now);
/* An attempt failed (DOWN or CONNECTING; UP: see ntf_session_lost()) for @reason.
 * Schedules the next attempt with backoff. Returns true when this deserves a log line: a
 * reason other than the last one (which is forgotten once a session holds). */
bool ntf_session_failed(struct ntf_session *s, int64_t now, const char *reason);
/* CONNACK accepted. Returns the failures of the outage it ends (0: none, or a broker
 * that dropped the last session at once: nothing to say until ntf_session_stable()); the
 * backoff is not reset until a session proves stable. */
unsigned ntf_session_up(struct ntf_session *s, int64_t now);
/* The session (UP) was lost. Held NTF_SESSION_STABLE_MS or longer: the backoff starts
 * over and false is returned (the caller says "connection lost"). Shorter: it counts as a
 * failed attempt (a broker that accepts and then drops us must not be hammered) with a
 * reason saying so, and the return is that of ntf_session_failed(). */
bool ntf_session_lost(struct ntf_session *s, int64_t now);
/* CONNACK accepted and the connection not lost since: messages may be sent. */
bool ntf_session_is_up(const struct ntf_session *s);
/* We closed the session ourselves (stopping): no failure, nothing scheduled. */
void ntf_session_closed(struct ntf_session *s);
/* After sessions dropped at once: true, once, when the current one has held
 * NTF_SESSION_STABLE_MS (the caller says so); the backoff starts over. */
bool ntf_session_stable(struct ntf_session *s, int64_t now);
