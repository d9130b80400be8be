"""WebSocket fan-out of ``echoarb serve``: clients x events/s held, at what delivery latency,
and what a slow client does to the others.

The server (the real aiohttp app and :class:`echoarb.serve.feed.Feed`, fed in process as the
Kafka source feeds it) runs in this process; the clients run in a child process (one event
loop, N sockets), so server and clients each get a core. Latency is publish (wall clock,
stamped into the event) to the client's receive, over loopback.

Baseline in the same run: a naive broadcast that awaits each client's ``send_str`` in turn
(no per-client queue). Peer: the ``websockets`` library's ``broadcast()`` (its server and its
slow-client policy: skip a client whose write buffer is full), same clients and rates.

    .venv/bin/python -m bench.fanout            # full grid (~3 min)
    .venv/bin/python -m bench.fanout --quick    # smoke
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import subprocess
import sys
import time
from typing import Any

from aiohttp import ClientSession, TCPConnector, WSMsgType, web

from bench.common import machine, save
from echoarb.kafka.processes import free_port
from echoarb.serve.app import build_app
from echoarb.serve.feed import Feed
from echoarb.serve.metrics import ServeMetrics
from echoarb.serve.state import SpreadState, encode_message

EVENT = {
    "id": "", "key": "", "pair_id": "", "kind": "binary",
    "legs": [{"venue": "kalshi", "side": "yes", "best_price": "0.41", "avg_price": "0.41", "size": "120"},
             {"venue": "polymarket", "side": "no", "best_price": "0.55", "avg_price": "0.55", "size": "120"}],
    "gross_edge": "0.04", "size": "120", "cost": "115.2", "fees": "2.1", "net_profit": "2.7",
    "net_edge": "0.0234", "executable": True, "quote_age_ms": 120, "event_ts": 0, "computed_at": 0,
}  # fmt: skip


def make_event(i: int, pairs: int = 50) -> dict[str, Any]:
    pair = f"bench-{i % pairs:03d}"
    now = time.time_ns()
    return {**EVENT, "id": f"ev{i}", "key": f"{pair}|binary|kalshi:yes,polymarket:no", "pair_id": pair,
            "event_ts": now // 1_000_000, "computed_at": now // 1_000_000, "sent_ns": now}  # fmt: skip


# -- clients (child process) -------------------------------------------------------------------
async def client_main(url: str, n: int, duration: float, slow: int) -> dict[str, Any]:
    latencies: list[float] = []
    counts = [0] * n
    closes: list[int | None] = []
    # limit=0: aiohttp's default pool of 100 connections would make client 101 wait for ever.
    async with ClientSession(connector=TCPConnector(limit=0)) as http:
        sockets = [await http.ws_connect(url, max_msg_size=0) for _ in range(n)]
        stalled = [stall_socket(url) for _ in range(slow)]
        print("READY", flush=True)

        async def read(i: int, ws: Any) -> None:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    break
                body = json.loads(msg.data)
                if body["type"] == "spread":
                    counts[i] += 1
                    if counts[i] % 4 == 0 or n <= 20:  # subsample: the list stays small
                        latencies.append((time.time_ns() - body["data"]["sent_ns"]) / 1e6)
            closes.append(ws.close_code)

        tasks = [asyncio.create_task(read(i, ws)) for i, ws in enumerate(sockets)]
        await asyncio.sleep(duration)
        for ws in sockets:
            await ws.close()
        await asyncio.gather(*tasks, return_exceptions=True)
        for sock in stalled:
            sock.close()
    latencies.sort()
    return {"received": sum(counts), "min_per_client": min(counts) if counts else 0,
            **percentiles(latencies)}  # fmt: skip


def stall_socket(url: str) -> socket.socket:
    """A client that completes the WebSocket handshake and then never reads (small buffer)."""
    host, port = url.split("//")[1].split("/")[0].split(":")
    path = "/" + url.split("//")[1].split("/", 1)[1]
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    return sock


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50_ms": float("nan"), "p99_ms": float("nan"), "max_ms": float("nan")}
    return {
        "p50_ms": round(values[len(values) // 2], 2),
        "p99_ms": round(values[min(len(values) - 1, int(len(values) * 0.99))], 2),
        "max_ms": round(values[-1], 2),
    }


# -- servers (this process) --------------------------------------------------------------------
class EchoArbServer:
    name = "echoarb"

    def __init__(self, max_queue: int) -> None:
        self.state, self.feed = SpreadState(), Feed(max_queue=max_queue)
        self.app = build_app(self.state, self.feed, ServeMetrics(self.state, self.feed), lambda: (True, {}))
        self.port = free_port()
        self.runner = web.AppRunner(self.app, access_log=None, handle_signals=False)

    async def start(self) -> None:
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    def publish(self, event: dict[str, Any]) -> None:
        self.feed.publish(self.state.apply_event(event))

    def clients(self) -> int:
        return len(self.feed.clients)

    async def stop(self) -> None:
        await self.feed.close_all()
        await self.runner.cleanup()


class NaiveServer(EchoArbServer):
    """Baseline: the publisher awaits every client's send in turn (no queues, no slow policy)."""

    name = "naive await-each"

    def __init__(self, max_queue: int) -> None:
        super().__init__(max_queue)
        self.sockets: list[web.WebSocketResponse] = []
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self.app = web.Application()
        self.app.router.add_get("/ws/spreads", self.ws)
        self.runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        self.task: asyncio.Task[None] | None = None

    async def ws(self, request: web.Request) -> web.WebSocketResponse:
        sock = web.WebSocketResponse()
        await sock.prepare(request)
        self.sockets.append(sock)
        async for _ in sock:
            pass
        self.sockets.remove(sock)
        return sock

    async def start(self) -> None:
        await super().start()
        self.task = asyncio.create_task(self.pump())

    async def pump(self) -> None:
        while True:
            text = await self.queue.get()
            for sock in list(self.sockets):
                with contextlib.suppress(ConnectionError):
                    await sock.send_str(text)

    def publish(self, event: dict[str, Any]) -> None:
        self.queue.put_nowait(encode_message(event))

    def clients(self) -> int:
        return len(self.sockets)

    async def stop(self) -> None:
        if self.task:
            self.task.cancel()
        await self.runner.cleanup()


class WebsocketsServer:
    """Peer: the websockets library's server and ``broadcast()``."""

    name = "websockets.broadcast"

    def __init__(self, max_queue: int) -> None:
        self.port = free_port()
        self.conns: set[Any] = set()
        self.server: Any = None

    async def handler(self, ws: Any) -> None:
        self.conns.add(ws)
        try:
            await ws.wait_closed()
        finally:
            self.conns.discard(ws)

    async def start(self) -> None:
        from websockets.asyncio.server import serve

        self.server = await serve(self.handler, "127.0.0.1", self.port, ping_interval=None)

    def publish(self, event: dict[str, Any]) -> None:
        from websockets.asyncio.server import broadcast

        broadcast(self.conns, encode_message(event))

    def clients(self) -> int:
        return len(self.conns)

    async def stop(self) -> None:
        self.server.close()
        await self.server.wait_closed()


async def run_case(kind: type[Any], clients: int, rate: int, duration: float, slow: int,
                   max_queue: int) -> dict[str, Any]:  # fmt: skip
    server = kind(max_queue)
    await server.start()
    url = f"ws://127.0.0.1:{server.port}/ws/spreads"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.fanout", "--client", url, "--n", str(clients),
        "--duration", str(duration), "--slow", str(slow), stdout=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    assert (await proc.stdout.readline()).strip() == b"READY"
    async with asyncio.timeout(20):
        while server.clients() < clients + slow:
            await asyncio.sleep(0.01)
    sent = 0
    slow_closed_at: float | None = None
    began = time.perf_counter()
    loop_lag: list[float] = []
    publish_for = duration - 1.0
    while (now := time.perf_counter() - began) < publish_for:
        due = int(now * rate) + 1
        while sent < due:
            server.publish(make_event(sent))
            sent += 1
        if slow and slow_closed_at is None and type(server) is EchoArbServer and server.feed.slow_closed:
            slow_closed_at = now
        tick = time.perf_counter()
        await asyncio.sleep(0.002)
        loop_lag.append((time.perf_counter() - tick - 0.002) * 1000)
    out, _ = await proc.communicate()
    result = json.loads(out.decode().strip().splitlines()[-1])
    await server.stop()
    expected = sent * clients
    loop_lag.sort()
    return {
        "server": server.name, "clients": clients, "rate": rate, "slow_clients": slow, "sent": sent,
        "delivered_pct": round(100 * result["received"] / expected, 1) if expected else 0.0,
        "min_per_client": result["min_per_client"], "p50_ms": result["p50_ms"], "p99_ms": result["p99_ms"],
        "max_ms": result["max_ms"], "server_loop_lag_p99_ms": round(loop_lag[int(len(loop_lag) * 0.99)], 1),
        **({"slow_closed_after_s": None if slow_closed_at is None else round(slow_closed_at, 2)}
           if type(server) is EchoArbServer and slow else {}),
    }  # fmt: skip


async def main(quick: bool) -> dict[str, Any]:
    duration = 3.0 if quick else 6.0
    grid = [(5, 50)] if quick else [(10, 100), (10, 1000), (100, 100), (100, 1000), (500, 100), (500, 500),
                                    (1000, 100)]  # fmt: skip
    cases: list[dict[str, Any]] = []
    for clients, rate in grid:
        cases.append(await run_case(EchoArbServer, clients, rate, duration, 0, 1000))
        print(row(cases[-1]), flush=True)
    peer_points = grid[:1] if quick else [(100, 1000), (500, 500)]
    for clients, rate in peer_points:
        cases.append(await run_case(WebsocketsServer, clients, rate, duration, 0, 1000))
        print(row(cases[-1]), flush=True)
    slow_clients, slow_rate = (5, 50) if quick else (100, 1000)
    for kind in (EchoArbServer, NaiveServer, WebsocketsServer):
        cases.append(await run_case(kind, slow_clients, slow_rate, duration + 2, 1, 200))
        print(row(cases[-1]), flush=True)
    return {"machine": machine(), "duration_s": duration, "cases": cases}


def row(c: dict[str, Any]) -> str:
    slow = f" +{c['slow_clients']} stalled" if c["slow_clients"] else ""
    closed = (
        f", stalled client closed after {c['slow_closed_after_s']} s" if "slow_closed_after_s" in c else ""
    )
    return (f"{c['server']:<22} {c['clients']:>5} clients{slow:<11} x {c['rate']:>5} ev/s: delivered "
            f"{c['delivered_pct']:>5}%  p50 {c['p50_ms']:>7} ms  p99 {c['p99_ms']:>8} ms"
            f"  max {c['max_ms']:>8} ms  loop lag p99 {c['server_loop_lag_p99_ms']} ms{closed}")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--duration", type=float, default=5.0, help=argparse.SUPPRESS)
    parser.add_argument("--slow", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--out", help="write the JSON here (default bench/results/fanout.json)")
    args = parser.parse_args()
    if args.client:
        print(json.dumps(asyncio.run(client_main(args.client, args.n, args.duration, args.slow))), flush=True)
    else:
        result = asyncio.run(main(args.quick))
        if args.out:
            from pathlib import Path

            Path(args.out).write_text(json.dumps(result, indent=2))
        else:
            save("fanout", result)
