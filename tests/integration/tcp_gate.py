#!/usr/bin/env python3
"""tcp_gate.py: a TCP gate in front of a broker that counts every connection made to it.
While MODE_FILE says "refuse", each connection is accepted, its first bytes (the CONNECT)
read and the connection closed without an answer: what RabbitMQ 3.10 does to an MQTT 5
CONNECT. While it says "pass", connections are relayed to the broker both ways.

Usage: tcp_gate.py LISTEN_PORT BROKER_PORT MODE_FILE LOG_FILE
  Listens on 127.0.0.1:LISTEN_PORT. Appends one line per accepted connection to LOG_FILE:
  "<unix time in ms> <mode>". Runs until killed (SIGTERM), bounded by 600 s.
"""
import os
import signal
import socket
import sys
import threading
import time

DEADLINE_S = 600


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def mode(path):
    try:
        with open(path, encoding="ascii") as f:
            return f.read().strip()
    except OSError:
        return "refuse"


def serve(conn, broker_port, mode_file, log_file):
    m = mode(mode_file)
    with open(log_file, "a", encoding="ascii") as log:
        log.write("%d %s\n" % (int(time.time() * 1000), m))
    if m != "pass":
        conn.settimeout(5)
        try:
            conn.recv(4096)
        except OSError:
            pass
        conn.close()
        return
    try:
        up = socket.create_connection(("127.0.0.1", broker_port), timeout=5)
    except OSError:
        conn.close()
        return
    up.settimeout(None)
    threading.Thread(target=pump, args=(conn, up), daemon=True).start()
    threading.Thread(target=pump, args=(up, conn), daemon=True).start()


def main():
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    port, broker_port = int(sys.argv[1]), int(sys.argv[2])
    mode_file, log_file = sys.argv[3], sys.argv[4]
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.alarm(DEADLINE_S)
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(64)
    while True:
        conn, _ = srv.accept()
        serve(conn, broker_port, mode_file, log_file)


if __name__ == "__main__":
    sys.exit(main())
