#!/usr/bin/env python3
"""clients.py: the misbehaving clients of bench/clients.sh (python3 stdlib only).

  clients.py hold MODE PORT N [--ca CA --cert CRT --key KEY] [--path P] [--window W] [--max S]
                 [--mss SEG] [--rcvbuf BYTES] [--kmem-max MIB]
      Opens N connections to 127.0.0.1:PORT, at most W at a time in progress, and holds them.
      MODE tcp: TCP connect, nothing sent (not even a ClientHello); tls: the TLS handshake
      (with the client certificate when given), then nothing; get: handshake, then one
      `GET P HTTP/1.1` whose answer is never read. --mss and --rcvbuf set TCP_MAXSEG and
      SO_RCVBUF before the connect; --kmem-max stops opening connections once the host's TCP
      buffer memory (/proc/net/sockstat: every socket on the machine) is above MIB.
      Prints "up K failed F seconds S capped C" (C: connections not opened for --kmem-max),
      then answers lines on stdin: "check" -> "open K" (connections the server has not
      closed, from the kernel's TCP state, without reading), "get PATH" -> "answered K
      CODES" (one request on every open TLS connection, answers read, 10 s in all). Ends at
      EOF on stdin or after --max seconds (default 600).

  clients.py trickle WHAT PORT N [--ca CA --cert CRT --key KEY] [--every S] [--max S]
      N connections that each send one byte every --every seconds (default 2) until the
      server ends the connection or --max seconds (default 60) have passed. WHAT header: the
      TLS handshake at once, then the HTTP header section byte by byte (it never ends);
      hello: a TLS ClientHello byte by byte on plain TCP. Prints one line per connection
      ("conn I: S s, HOW") and "n=N ended=E open=O min=S median=S max=S how=HOW:K,...", S in
      seconds from the TCP connect.
"""
import argparse
import errno
import resource
import selectors
import socket
import ssl
import struct
import sys
import time

HOST = "127.0.0.1"
TCP_ESTABLISHED = 1


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def context(args):
    ctx = ssl.create_default_context(cafile=args.ca)
    if args.cert:
        ctx.load_cert_chain(args.cert, args.key)
    return ctx


def tcp_state(sock):
    """The kernel's TCP state of sock (1 = established; 8 = close-wait: the peer closed)."""
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)
        return struct.unpack("B", info[:1])[0]
    except OSError:
        return 0


def tcp_mem_mib():
    """The host's TCP buffer memory (all sockets), from /proc/net/sockstat."""
    with open("/proc/net/sockstat") as f:
        for line in f:
            w = line.split()
            if w[:1] == ["TCP:"] and "mem" in w:
                return int(w[w.index("mem") + 1]) * 4096 / 1048576
    return 0


class Conn:
    __slots__ = ("sock", "raw", "phase")

    def __init__(self, raw):
        self.raw = raw       # the TCP socket
        self.sock = raw      # the TLS socket once wrapped
        self.phase = "connect"


def hold_open(args, ctx, request):
    """Opens args.n connections, args.window at a time in progress. Returns (up, failed)."""
    sel = selectors.DefaultSelector()
    up, failed, started, inflight = [], 0, 0, 0
    deadline = time.monotonic() + args.max

    def fail(c):
        nonlocal failed, inflight
        try:
            sel.unregister(c.raw)
        except (KeyError, ValueError):
            pass
        c.sock.close()
        failed += 1
        inflight -= 1

    def step(c):
        """Advances c; returns the event to wait for, or None when finished or failed."""
        nonlocal inflight
        if c.phase == "connect":
            err = c.raw.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                fail(c)
                return None
            if args.mode == "tcp":
                c.phase = "done"
            else:
                c.sock = ctx.wrap_socket(c.raw, server_hostname="localhost",
                                         do_handshake_on_connect=False)
                c.phase = "handshake"
        if c.phase == "handshake":
            try:
                c.sock.do_handshake()
            except ssl.SSLWantReadError:
                return selectors.EVENT_READ
            except ssl.SSLWantWriteError:
                return selectors.EVENT_WRITE
            except (OSError, ssl.SSLError):
                fail(c)
                return None
            if request:
                try:
                    c.sock.send(request)   # a few dozen bytes: one record, fits the buffer
                except (OSError, ssl.SSLError):
                    fail(c)
                    return None
            c.phase = "done"
        sel.unregister(c.raw)
        up.append(c)
        inflight -= 1
        return None

    capped, next_check = 0, 0
    while (started < args.n or inflight) and time.monotonic() < deadline:
        if args.kmem_max and next_check <= started < args.n:
            next_check = started + 25
            if tcp_mem_mib() > args.kmem_max:
                capped = args.n - started  # the host's TCP memory is shared: stop here
                started = args.n
        while started < args.n and inflight < args.window:
            raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            if args.rcvbuf:
                raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, args.rcvbuf)
            if args.mss:
                raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, args.mss)
            raw.setblocking(False)
            started += 1
            inflight += 1
            c = Conn(raw)
            rc = raw.connect_ex((HOST, args.port))
            if rc not in (0, errno.EINPROGRESS):
                raw.close()
                failed += 1
                inflight -= 1
                continue
            sel.register(raw, selectors.EVENT_WRITE, c)
        for key, _ in sel.select(timeout=1):
            c = key.data
            ev = step(c)
            if ev is not None:
                sel.modify(c.raw, ev, c)
    # what is still in progress at the deadline counts as failed
    for key in list(sel.get_map().values()):
        fail(key.data)
    sel.close()
    return up, failed, capped


def answer_all(conns, path):
    """One GET on every open TLS connection, answers read; 10 s in all."""
    deadline = time.monotonic() + 10
    codes, answered = {}, 0
    req = ("GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n" % path).encode()
    live = [c for c in conns if tcp_state(c.sock) == TCP_ESTABLISHED and c.sock is not c.raw]
    for c in live:
        try:
            c.sock.setblocking(True)
            c.sock.send(req)
        except (OSError, ssl.SSLError):
            pass
    for c in live:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            c.sock.settimeout(left)
            data = c.sock.recv(4096)
        except (OSError, ssl.SSLError):
            continue
        if data.startswith(b"HTTP/1."):
            code = data[9:12].decode(errors="replace")
            codes[code] = codes.get(code, 0) + 1
            answered += 1
    return answered, ",".join("%s:%d" % kv for kv in sorted(codes.items())) or "-"


def cmd_hold(args):
    raise_nofile()
    ctx = context(args) if args.mode != "tcp" else None
    request = None
    if args.mode == "get":
        request = ("GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n" % args.path).encode()
    t0 = time.monotonic()
    up, failed, capped = hold_open(args, ctx, request)
    print("up %d failed %d seconds %.3f capped %d" % (len(up), failed, time.monotonic() - t0,
                                                      capped), flush=True)
    sel = selectors.DefaultSelector()
    sel.register(sys.stdin, selectors.EVENT_READ)
    deadline = t0 + args.max
    while time.monotonic() < deadline:
        if not sel.select(timeout=1):
            continue
        line = sys.stdin.readline()
        if not line:
            break
        words = line.split()
        if words[:1] == ["check"]:
            print("open %d" % sum(1 for c in up if tcp_state(c.sock) == TCP_ESTABLISHED),
                  flush=True)
        elif words[:1] == ["get"] and len(words) == 2:
            print("answered %d %s" % answer_all(up, words[1]), flush=True)
        else:
            print("error unknown command", flush=True)
    for c in up:
        c.sock.close()


def client_hello(ctx):
    """The bytes of a ClientHello as this context would send it."""
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def cmd_trickle(args):
    ctx = context(args)
    if args.what == "hello":
        payload = client_hello(ctx)
    else:
        # a header section that never ends within --max: no blank line, one long header
        payload = b"GET /v1/updates HTTP/1.1\r\nHost: localhost\r\nX-Trickle: " + b"a" * 4096
    sel = selectors.DefaultSelector()
    conns = []
    for i in range(args.n):
        raw = socket.create_connection((HOST, args.port), timeout=10)
        t0 = time.monotonic()
        sock = raw
        if args.what == "header":
            sock = ctx.wrap_socket(raw, server_hostname="localhost")
        sock.setblocking(False)
        c = {"i": i, "sock": sock, "t0": t0, "next": t0, "sent": 0, "end": None, "how": None}
        conns.append(c)
        sel.register(sock, selectors.EVENT_READ, c)

    def end(c, how):
        c["end"], c["how"] = time.monotonic() - c["t0"], how
        sel.unregister(c["sock"])
        c["sock"].close()

    start = time.monotonic()
    while time.monotonic() - start < args.max:
        live = [c for c in conns if c["end"] is None]
        if not live:
            break
        now = time.monotonic()
        for c in live:
            if now < c["next"]:
                continue
            c["next"] += args.every
            if c["sent"] >= len(payload):
                continue
            try:
                c["sock"].send(payload[c["sent"]:c["sent"] + 1])
                c["sent"] += 1
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError) as e:
                end(c, "send failed (%s)" % type(e).__name__)
        live = [c for c in conns if c["end"] is None]
        if not live:
            break
        wait = max(0.0, min(c["next"] for c in live) - time.monotonic())
        for key, _ in sel.select(timeout=min(wait, start + args.max - time.monotonic())):
            c = key.data
            try:
                data = c["sock"].recv(4096)
            except (ssl.SSLWantReadError, BlockingIOError):
                continue   # e.g. TLS 1.3 session tickets: no application data
            except (OSError, ssl.SSLError) as e:
                end(c, "closed (%s)" % type(e).__name__)
                continue
            if not data:
                end(c, "closed")
            elif data.startswith(b"HTTP/1."):
                end(c, "answered %s" % data[9:12].decode(errors="replace"))
            else:
                end(c, "got %d bytes" % len(data))
    for c in conns:
        if c["end"] is None:
            c["end"], c["how"] = time.monotonic() - c["t0"], "open"
            c["sock"].close()
        print("conn %d: %.1f s, %s (%d bytes sent)" % (c["i"], c["end"], c["how"], c["sent"]))
    secs = sorted(c["end"] for c in conns)
    hows = {}
    for c in conns:
        h = c["how"].split(" (")[0]
        hows[h] = hows.get(h, 0) + 1
    print("n=%d ended=%d open=%d min=%.1f median=%.1f max=%.1f how=%s" % (
        len(conns), sum(1 for c in conns if c["how"] != "open"),
        sum(1 for c in conns if c["how"] == "open"), secs[0], secs[len(secs) // 2], secs[-1],
        ",".join("%s:%d" % kv for kv in sorted(hows.items())).replace(" ", "_")))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    h = sub.add_parser("hold")
    h.add_argument("mode", choices=("tcp", "tls", "get"))
    t = sub.add_parser("trickle")
    t.add_argument("what", choices=("header", "hello"))
    t.add_argument("--every", type=float, default=2.0)
    for q in (h, t):
        q.add_argument("port", type=int)
        q.add_argument("n", type=int)
        q.add_argument("--ca")
        q.add_argument("--cert")
        q.add_argument("--key")
        q.add_argument("--max", type=float, default=None)
    h.add_argument("--path", default="/v1/updates")
    h.add_argument("--window", type=int, default=64)
    h.add_argument("--rcvbuf", type=int, default=0)
    h.add_argument("--mss", type=int, default=0)
    h.add_argument("--kmem-max", type=float, default=0)
    args = p.parse_args()
    if not 1 <= args.n <= 20000:
        p.error("N: 1 to 20000")
    if args.cmd == "hold":
        args.max = 600.0 if args.max is None else args.max
        cmd_hold(args)
    else:
        args.max = 60.0 if args.max is None else args.max
        cmd_trickle(args)


main()
