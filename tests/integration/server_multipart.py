#!/usr/bin/env python3
"""Strict multipart/byteranges check for the server tests (RFC 9110 §14.6).

usage: server_multipart.py HEADERS BODY ORIGINAL EXPECTED_RANGES
Parses the response headers (curl -D) and body (curl -o), walks the parts exactly
(framing, Content-Range, lengths), compares every part byte for byte with ORIGINAL and
checks the ranges equal EXPECTED_RANGES ("a-b,c-d"). Exits 1 with a message on any
difference.
"""
import re
import sys


def fail(msg):
    print("multipart: " + msg, file=sys.stderr)
    sys.exit(1)


def main():
    hdr_path, body_path, orig_path, expected = sys.argv[1:5]
    headers = {}
    with open(hdr_path, "rb") as f:
        for line in f.read().decode("latin-1").split("\r\n")[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
    body = open(body_path, "rb").read()
    orig = open(orig_path, "rb").read()
    ctype = headers.get("content-type", "")
    m = re.fullmatch(r"multipart/byteranges;\s*boundary=(\S+)", ctype)
    if not m:
        fail("content-type is %r" % ctype)
    boundary = m.group(1).encode()
    if int(headers.get("content-length", "-1")) != len(body):
        fail("content-length %s but body has %d bytes" % (headers.get("content-length"), len(body)))
    pos = 0
    got = []
    while True:
        delim = b"\r\n--" + boundary
        if body[pos:pos + len(delim)] != delim:
            fail("no delimiter at %d: %r" % (pos, body[pos:pos + 60]))
        pos += len(delim)
        if body[pos:pos + 4] == b"--\r\n":
            pos += 4
            break
        if body[pos:pos + 2] != b"\r\n":
            fail("bad delimiter line end at %d" % pos)
        pos += 2
        end = body.find(b"\r\n\r\n", pos)
        if end < 0:
            fail("unterminated part headers at %d" % pos)
        part_headers = {}
        for line in body[pos:end].decode("latin-1").split("\r\n"):
            k, v = line.split(":", 1)
            part_headers[k.strip().lower()] = v.strip()
        pos = end + 4
        cr = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", part_headers.get("content-range", ""))
        if not cr:
            fail("part content-range %r" % part_headers.get("content-range"))
        a, b, size = (int(x) for x in cr.groups())
        if size != len(orig):
            fail("part says size %d, file has %d" % (size, len(orig)))
        data = body[pos:pos + (b - a + 1)]
        if data != orig[a:b + 1]:
            fail("part %d-%d differs from the original" % (a, b))
        pos += b - a + 1
        got.append("%d-%d" % (a, b))
    if pos != len(body):
        fail("%d bytes after the closing delimiter" % (len(body) - pos))
    if ",".join(got) != expected:
        fail("ranges %s, expected %s" % (",".join(got), expected))
    print("multipart ok: " + ",".join(got))


main()
