#!/usr/bin/env python3
"""tcp_balance.py LISTEN_PORT BACKEND_PORT...: a TCP load balancer on 127.0.0.1, what an
operator puts in front of several ota-servers (TLS passes through untouched). Each
connection goes to the next backend in turn; a backend that refuses the connection is
skipped, so clients of a killed origin reach the others. Runs until killed."""
import socket
import sys
import threading

from tcp_gate import pump  # the relay both ways, one copy


def serve(client, backends, turn):
    for i in range(len(backends)):
        port = backends[(turn + i) % len(backends)]
        try:
            up = socket.create_connection(("127.0.0.1", port), timeout=2)
        except OSError:
            continue
        up.settimeout(None)
        threading.Thread(target=pump, args=(client, up), daemon=True).start()
        pump(up, client)
        up.close()
        break
    client.close()


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    listen, backends = int(sys.argv[1]), [int(p) for p in sys.argv[2:]]
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", listen))
    srv.listen(512)
    turn = 0
    while True:
        client, _ = srv.accept()
        threading.Thread(target=serve, args=(client, backends, turn), daemon=True).start()
        turn += 1


if __name__ == "__main__":
    main()
