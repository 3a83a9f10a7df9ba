#!/usr/bin/env python3
"""cutproxy.py: a TCP relay for the DDI resume test that cuts one download half way.

    cutproxy.py LISTEN_PORT UPSTREAM_PORT CUT_AFTER

Relays 127.0.0.1:LISTEN_PORT to 127.0.0.1:UPSTREAM_PORT byte for byte (TLS passes through
untouched). The first connection that carries more than CUT_AFTER bytes from the server to
the client is closed at that point, once; every later connection is relayed whole, so the
client's retry (Range: bytes=N-) goes through. Prints one line per event on stdout.
"""
import asyncio
import sys

state = {"cut": False, "conns": 0}


async def pump(reader, writer, limit, label):
    total = 0
    try:
        while True:
            data = await reader.read(16384)
            if not data:
                break
            if limit is not None and not state["cut"] and total + len(data) > limit:
                writer.write(data[: limit - total])
                await writer.drain()
                state["cut"] = True
                print(f"cut {label} after {limit} bytes", flush=True)
                return True
            total += len(data)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    return False


async def handle(creader, cwriter, upstream, cut_after):
    state["conns"] += 1
    n = state["conns"]
    try:
        sreader, swriter = await asyncio.open_connection("127.0.0.1", upstream)
    except OSError as e:
        print(f"conn {n}: upstream refused: {e}", flush=True)
        cwriter.close()
        return
    up = asyncio.ensure_future(pump(creader, swriter, None, f"conn {n} up"))
    down = asyncio.ensure_future(pump(sreader, cwriter, cut_after, f"conn {n}"))
    done, _ = await asyncio.wait([up, down], return_when=asyncio.FIRST_COMPLETED)
    for t in (up, down):
        if t not in done:
            t.cancel()
    for w in (cwriter, swriter):
        try:
            w.close()
        except Exception:
            pass


async def main():
    listen, upstream, cut_after = (int(a) for a in sys.argv[1:4])
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, upstream, cut_after), "127.0.0.1", listen)
    print(f"listening on {listen}, upstream {upstream}, cut after {cut_after}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
