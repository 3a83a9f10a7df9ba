#!/usr/bin/env python3
"""mqtt_pub.py: publishes many messages to many topics over one MQTT 3.1.1 connection, QoS 1,
and waits for every PUBACK. mosquitto_pub sends to one topic per process; the tests need
thousands of vehicles' status topics at once.

Usage: mqtt_pub.py HOST PORT CLIENT_ID < lines
  Each line of stdin is "TOPIC<TAB>PAYLOAD". Up to 100 messages are in flight at a time.
  Prints "published N" and exits 0 once every message is acknowledged; exits 1 on a
  refused CONNECT or a lost connection, 2 on usage errors. Bounded: gives up after 120 s
  (MQTT_PUB_DEADLINE seconds). MQTT_PUB_RETAIN=1 sets the retain flag (bench/scale.sh's
  reference: what the broker holds per retained message of its own).
"""
import os
import socket
import struct
import sys
import time

INFLIGHT = 100
DEADLINE_S = int(os.environ.get("MQTT_PUB_DEADLINE", "120"))
PUBLISH = 0x33 if os.environ.get("MQTT_PUB_RETAIN") == "1" else 0x32  # QoS 1 (+ retain)


def varint(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def mqtt_str(s):
    b = s.encode()
    return struct.pack("!H", len(b)) + b


def packet(kind, body):
    return bytes([kind]) + varint(len(body)) + body


class Conn:
    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port), timeout=10)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def read_packet(self):
        while True:
            if len(self.buf) >= 2:
                mult, n, i = 1, 0, 1
                while i < len(self.buf):
                    b = self.buf[i]
                    n += (b & 0x7F) * mult
                    mult *= 128
                    i += 1
                    if not b & 0x80:
                        if len(self.buf) >= i + n:
                            kind, body = self.buf[0], self.buf[i:i + n]
                            self.buf = self.buf[i + n:]
                            return kind, body
                        break
            chunk = self.sock.recv(65536)
            if not chunk:
                sys.exit("mqtt_pub: connection closed by the broker")
            self.buf += chunk


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    host, port, client_id = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    messages = []
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line:
            continue
        topic, _, payload = line.partition("\t")
        messages.append((topic, payload))
    conn = Conn(host, port)
    # CONNECT: protocol "MQTT" level 4, clean session, keepalive 60
    conn.send(packet(0x10, mqtt_str("MQTT") + bytes([4, 0x02]) + struct.pack("!H", 60) +
                     mqtt_str(client_id)))
    kind, body = conn.read_packet()
    if kind != 0x20 or len(body) < 2 or body[1] != 0:
        sys.exit("mqtt_pub: CONNECT refused (%r)" % (body,))
    deadline = time.monotonic() + DEADLINE_S
    waiting = set()
    next_msg, mid = 0, 0
    while next_msg < len(messages) or waiting:
        if time.monotonic() > deadline:
            sys.exit("mqtt_pub: %d PUBACKs missing after %d s" % (len(waiting), DEADLINE_S))
        while next_msg < len(messages) and len(waiting) < INFLIGHT:
            mid = mid % 65535 + 1
            topic, payload = messages[next_msg]
            conn.send(packet(PUBLISH, mqtt_str(topic) + struct.pack("!H", mid) + payload.encode()))
            waiting.add(mid)
            next_msg += 1
        kind, body = conn.read_packet()
        if kind & 0xF0 == 0x40:  # PUBACK
            waiting.discard(struct.unpack("!H", body[:2])[0])
    conn.send(packet(0xE0, b""))  # DISCONNECT
    print("published %d" % len(messages))


if __name__ == "__main__":
    main()
