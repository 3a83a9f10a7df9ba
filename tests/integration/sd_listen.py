#!/usr/bin/env python3
"""sd_listen.py SOCKET: systemd's side of sd_notify(3) for a test. Binds a datagram
socket at SOCKET (give its path to the daemon as NOTIFY_SOCKET) and prints each message
on one line, its fields joined by " | ", until killed."""
import socket
import sys

sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(sys.argv[1])
while True:
    msg = sock.recv(65536)
    print(msg.decode("utf-8", "replace").strip("\n").replace("\n", " | "), flush=True)
