#!/usr/bin/env python3
"""Holds N connections to ota-server open the way slow or abusive clients do, for
test_server_slow.sh.

  slow_clients.py tls PORT N CA CERT KEY   N mTLS connections, each sending half a request
  slow_clients.py tcp PORT N               N plain TCP connections that send nothing

Prints "open K" once the connections are up (K that connected), then waits for a line on
stdin ("check") and prints "closed C": how many the server has closed since. Exits at
EOF on stdin or after 120 s, whichever is first."""
import select
import socket
import ssl
import sys
import time


def open_all(mode, port, n, args):
    ctx = None
    if mode == "tls":
        ca, cert, key = args
        ctx = ssl.create_default_context(cafile=ca)
        ctx.load_cert_chain(cert, key)
    conns = []
    for _ in range(n):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            if ctx:
                s = ctx.wrap_socket(s, server_hostname="localhost")
                # Slowloris: a request line and one header, never the blank line.
                s.sendall(b"GET /v1/updates HTTP/1.1\r\nHost: localhost\r\n")
            s.setblocking(False)
            conns.append(s)
        except OSError:
            pass
    return conns


def closed_count(conns):
    closed = 0
    for s in conns:
        try:
            r, _, _ = select.select([s], [], [], 0)
            if not r:
                continue
            data = s.recv(4096)
            if not data:
                closed += 1
        except ssl.SSLWantReadError:
            continue
        except (OSError, ssl.SSLError):
            closed += 1
    return closed


def main():
    mode, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    conns = open_all(mode, port, n, sys.argv[4:])
    print("open %d" % len(conns), flush=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        r, _, _ = select.select([sys.stdin], [], [], 1)
        if not r:
            continue
        line = sys.stdin.readline()
        if not line:
            break
        # A closed TLS connection may first deliver the alert record: read twice.
        closed_count(conns)
        print("closed %d" % closed_count(conns), flush=True)


main()
