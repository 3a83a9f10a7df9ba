#!/usr/bin/env python3
"""Raw HTTP/1.1 bytes over (mutual) TLS to ota-server, for tests that need exactly the
bytes a hostile client sends, which curl would not.

  raw_http.py send PORT CA [CERT KEY]
      Sends stdin's bytes as they are (one write), then reads until the server closes or
      is silent for 3 s. Prints one line per response, "status N bytes B" (B: body bytes),
      then "closed" or "open", then "responses K". Responses are framed by their
      Content-Length (every ota-server response has one).
  raw_http.py trickle PORT CA [CERT KEY] [--interval S] [--max T]
      Sends stdin's bytes one at a time, S seconds apart (default 1), and prints
      "closed after X" (seconds, when the server closed the connection), or "open after
      T" when it still held it after T seconds (default 30), or "answered N" when a
      response arrived first.
Without CERT and KEY no client certificate is presented."""
import select
import socket
import ssl
import sys
import time


def connect(port, ca, cert=None, key=None):
    ctx = ssl.create_default_context(cafile=ca)
    if cert:
        ctx.load_cert_chain(cert, key)
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return ctx.wrap_socket(s, server_hostname="localhost")


def read_until_quiet(s, quiet=3.0, limit=30.0):
    """Bytes until EOF or @quiet seconds without any; (data, closed)."""
    data = b""
    end = time.monotonic() + limit
    s.setblocking(False)
    while time.monotonic() < end:
        try:
            chunk = s.recv(65536)
            if not chunk:
                return data, True
            data += chunk
            continue
        except ssl.SSLWantReadError:
            pass
        except (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionResetError, BrokenPipeError):
            return data, True
        except ssl.SSLError:
            return data, True
        r, _, _ = select.select([s], [], [], quiet)
        if not r and s.pending() == 0:
            return data, False
    return data, False


def responses(data):
    """[(status, body_len)] of the responses in @data. A response to HEAD carries a
    Content-Length but no body: when the next status line follows the header section
    at once, the body is taken as empty."""
    out = []
    while data:
        end = data.find(b"\r\n\r\n")
        if end < 0:
            break
        head = data[:end].decode("latin-1").split("\r\n")
        try:
            status = int(head[0].split(" ")[1])
        except (IndexError, ValueError):
            break
        length = 0
        for line in head[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        rest = data[end + 4:]
        if rest.startswith(b"HTTP/1.1 "):
            length = 0
        out.append((status, min(length, len(rest))))
        data = rest[length:]
    return out


def cmd_send(port, ca, cert, key):
    payload = sys.stdin.buffer.read()
    s = connect(port, ca, cert, key)
    try:
        s.sendall(payload)
    except (OSError, ssl.SSLError):
        # the server may answer and close before it has read all of a refused request;
        # what it answered is still there to read
        pass
    data, closed = read_until_quiet(s)
    rs = responses(data)
    for status, n in rs:
        print("status %d bytes %d" % (status, n))
    print("closed" if closed else "open")
    print("responses %d" % len(rs))
    s.close()


def cmd_trickle(port, ca, cert, key, interval, limit):
    payload = sys.stdin.buffer.read()
    start = time.monotonic()
    try:
        s = connect(port, ca, cert, key)
    except (OSError, ssl.SSLError):
        print("closed after %.1f" % (time.monotonic() - start))
        return
    i = 0
    while time.monotonic() - start < limit:
        if i < len(payload):
            try:
                s.setblocking(True)
                s.sendall(payload[i:i + 1])
            except (OSError, ssl.SSLError):
                print("closed after %.1f" % (time.monotonic() - start))
                return
            i += 1
        r, _, _ = select.select([s], [], [], interval)
        if r:
            # readable may be a TLS 1.3 session ticket only: never block on it
            s.setblocking(False)
            try:
                chunk = s.recv(4096)
            except ssl.SSLWantReadError:
                continue
            except (OSError, ssl.SSLError):
                chunk = b""
            if not chunk:
                print("closed after %.1f" % (time.monotonic() - start))
                return
            print("answered %s" % chunk[:12].decode("latin-1"))
            return
    print("open after %.1f" % (time.monotonic() - start))


def main():
    args = sys.argv[1:]
    interval, limit = 1.0, 30.0
    if "--interval" in args:
        i = args.index("--interval")
        interval = float(args[i + 1])
        del args[i:i + 2]
    if "--max" in args:
        i = args.index("--max")
        limit = float(args[i + 1])
        del args[i:i + 2]
    mode, port, ca = args[0], int(args[1]), args[2]
    cert, key = (args[3], args[4]) if len(args) >= 5 else (None, None)
    if mode == "send":
        cmd_send(port, ca, cert, key)
    elif mode == "trickle":
        cmd_trickle(port, ca, cert, key, interval, limit)
    else:
        sys.exit("unknown mode " + mode)


main()
