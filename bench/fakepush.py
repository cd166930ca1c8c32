#!/usr/bin/env python3
"""bench/fakepush.py PORT [SECONDS]: an awkward push server on 127.0.0.1 for
pushbench's self-test (bench/run-bench.sh --selftest).

It speaks the same API as mod_push and Nchan (POST /pub/<ch>, GET /sub/<ch>
by long poll, EventSource or WebSocket, /status) but in every way the
protocols allow and a lazy client would trip on: writes split into pieces
of a few bytes, chunked bodies with odd chunk sizes and trailers; SSE with
CR, LF and CRLF line ends, comments, and each message split over two data
lines; WebSocket messages fragmented in two frames, with 7-, 16- and 64-bit
lengths, each after a ping whose pong it checks; long-poll answers with
Content-Length, chunked, or no length and Connection: close.  It stops by
itself after SECONDS (default 120).
"""
import asyncio
import base64
import hashlib
import random
import sys

SUBS = {}       # channel -> list of Sub
MSGS = {}       # channel -> list of bodies; message i has id i + 1
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
STATS = {"polls": 0, "pongs": 0}


class Sub:
    """One subscriber: its kind, its writer, and one lock so that the
    pieces of two messages never interleave on its connection."""

    def __init__(self, kind, writer, cursor=0):
        self.kind = kind
        self.w = writer
        self.cursor = cursor
        self.lock = asyncio.Lock()
        self.fut = None


async def dribble(sub, data):
    """Writes data in random pieces: a few bytes at a time for the first
    500 bytes, then larger ones."""
    async with sub.lock:
        i = 0
        while i < len(data):
            n = random.randint(1, 7) if i < 500 else random.randint(1, 9000)
            sub.w.write(data[i:i + n])
            i += n
            if random.random() < 0.2:
                await sub.w.drain()
                await asyncio.sleep(0)
        await sub.w.drain()


def chunked(data):
    out = b""
    i = 0
    while i < len(data):
        n = random.randint(1, 20) if i < 500 else random.randint(1, 5000)
        out += b"%x\r\n" % len(data[i:i + n]) + data[i:i + n] + b"\r\n"
        i += n
    return out


def sse_event(idx, body):
    """A comment, the id, and the body over two data lines; the line end
    is LF, CR or CRLF in turn."""
    e = (b"\n", b"\r", b"\r\n")[idx % 3]
    first, rest = body.split(b" ", 2)[:2], body.split(b" ", 2)[2]
    return (b": keep-alive" + e + b"id: 1:%d" % idx + e
            + b"data: " + b" ".join(first) + e + b"data:" + rest + e + e)


def ws_frame(op, payload, fin=True):
    h = bytes([(0x80 if fin else 0) | op])
    n = len(payload)
    if n < 126:
        h += bytes([n])
    elif n < 65536:
        h += bytes([126]) + n.to_bytes(2, "big")
    else:
        h += bytes([127]) + n.to_bytes(8, "big")
    return h + payload


def ws_message(idx, body):
    """A ping, then the message in two fragments."""
    cut = len(body) // 2
    return (ws_frame(9, b"png%d" % idx) + ws_frame(1, body[:cut], fin=False)
            + ws_frame(0, body[cut:]))


async def send(sub, data):
    try:
        await dribble(sub, data)
    except (ConnectionError, RuntimeError):
        pass


async def ws_read(r):
    """Reads the client's frames: every one must be masked; pongs must
    echo a ping."""
    while True:
        h = await r.readexactly(2)
        op, n = h[0] & 15, h[1] & 127
        assert h[1] & 0x80, "client frame not masked"
        if n == 126:
            n = int.from_bytes(await r.readexactly(2), "big")
        elif n == 127:
            n = int.from_bytes(await r.readexactly(8), "big")
        mask = await r.readexactly(4)
        data = await r.readexactly(n)
        p = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        if op == 10:
            assert p.startswith(b"png"), p
            STATS["pongs"] += 1
        elif op == 8:
            return


async def lp_reply(sub, idx, body):
    """Content-Length, chunked with a trailer, or until close, in turn;
    False when the connection is closed."""
    STATS["polls"] += 1
    mode = STATS["polls"] % 3
    head = (b"HTTP/1.1 200 OK\r\nEtag: \"%d\"\r\n" % idx
            + b"Last-Modified: Thu, 01 Jan 2026 00:00:00 GMT\r\n")
    if mode == 0:
        data = head + b"Content-Length: %d\r\n\r\n" % len(body) + body
    elif mode == 1:
        data = (head + b"Transfer-Encoding: chunked\r\n\r\n" + chunked(body)
                + b"0\r\nX-Trailer: 1\r\n\r\n")
    else:
        data = head + b"Connection: close\r\n\r\n" + body
    await dribble(sub, data)
    if mode == 2:
        sub.w.close()
    return mode != 2


async def reply_close(w, text):
    w.write(b"HTTP/1.0 200 OK\r\n\r\n" + text)
    await w.drain()
    w.close()


async def publish(ch, body):
    MSGS.setdefault(ch, []).append(body)
    idx = len(MSGS[ch])
    for sub in list(SUBS.get(ch, [])):
        if sub.kind == "sse":
            asyncio.ensure_future(send(sub, chunked(sse_event(idx, body))))
        elif sub.kind == "ws":
            asyncio.ensure_future(send(sub, ws_message(idx, body)))
        elif sub.cursor < idx and not sub.fut.done():
            SUBS[ch].remove(sub)
            sub.fut.set_result(idx)


async def stream(ch, sub, r, head):
    sub.w.write(head)
    await sub.w.drain()
    SUBS.setdefault(ch, []).append(sub)
    try:
        if sub.kind == "ws":
            await ws_read(r)
        else:
            await r.read()
    finally:
        SUBS[ch].remove(sub)


async def handle(r, w):
    try:
        while True:
            line = await r.readline()
            if not line:
                return
            method, target, _ = line.decode().split(" ", 2)
            hdrs = {}
            while True:
                h = await r.readline()
                if h in (b"\r\n", b"\n", b""):
                    break
                k, v = h.decode().split(":", 1)
                hdrs[k.strip().lower()] = v.strip()
            ch = target.rsplit("/", 1)[1]
            if target == "/pongs":
                return await reply_close(w, b"pongs: %d\n" % STATS["pongs"])
            if target == "/status":
                n = sum(len(v) for v in SUBS.values())
                return await reply_close(w, b"subscribers: %d\n" % n)
            if method == "POST":
                body = await r.readexactly(int(hdrs["content-length"]))
                w.write(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")
                await w.drain()
                await publish(ch, body)
                continue
            if hdrs.get("upgrade", "").lower() == "websocket":
                key = hdrs["sec-websocket-key"].encode()
                acc = base64.b64encode(hashlib.sha1(key + GUID).digest())
                return await stream(ch, Sub("ws", w), r,
                                    b"HTTP/1.1 101 Switching Protocols\r\n"
                                    b"Upgrade: websocket\r\n"
                                    b"Connection: Upgrade\r\n"
                                    b"Sec-WebSocket-Accept: " + acc
                                    + b"\r\n\r\n")
            if "text/event-stream" in hdrs.get("accept", ""):
                return await stream(ch, Sub("sse", w), r,
                                    b"HTTP/1.1 200 OK\r\n"
                                    b"Content-Type: text/event-stream\r\n"
                                    b"Transfer-Encoding: chunked\r\n\r\n")
            # long poll: the cursor is the Etag echoed back
            have = len(MSGS.get(ch, []))
            cursor = have
            if "if-modified-since" in hdrs:
                cursor = int(hdrs.get("if-none-match", "0").strip('"'))
            sub = Sub("lp", w, cursor)
            if cursor < have:
                idx = cursor + 1
            else:
                sub.fut = asyncio.get_running_loop().create_future()
                SUBS.setdefault(ch, []).append(sub)
                idx = await sub.fut
            if not await lp_reply(sub, idx, MSGS[ch][idx - 1]):
                return
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        for lst in SUBS.values():
            for sub in [s for s in lst if s.w is w]:
                lst.remove(sub)


async def main():
    srv = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]))
    limit = float(sys.argv[2]) if len(sys.argv) > 2 else 120.0
    async with srv:
        await srv.start_serving()
        await asyncio.sleep(limit)


asyncio.run(main())
