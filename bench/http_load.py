"""A small closed-loop HTTP/1.1 load generator (asyncio, keep-alive) and process CPU accounting,
for `bench/serving.py`. Python only, so the bench runs without wrk; only to 127.0.0.1."""

from __future__ import annotations

import asyncio
import os
import re
import time
from pathlib import Path

LENGTH = re.compile(rb"content-length:\s*(\d+)", re.IGNORECASE)


async def ready(port: int, timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            status, _ = await one(port, b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n")
            if status == 200:
                return
        except OSError:
            pass
        await asyncio.sleep(0.3)
    raise SystemExit(f"server on port {port} did not become ready")


async def one(port: int, request: bytes) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        return await read_response(reader)
    finally:
        writer.close()


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    match = LENGTH.search(head)
    if match is None:
        raise RuntimeError(f"response without content-length: {head[:200]!r}")
    return int(head[9:12]), await reader.readexactly(int(match.group(1)))


async def load(port: int, request: bytes, connections: int, seconds: float, max_requests: int):
    """Closed-loop load; returns (requests per second, latencies in ms, non-200 answers, requests
    sent including the warm-up)."""
    latencies: list[float] = []
    errors = 0
    total = [0]
    budget = [max_requests]

    async def worker(deadline: float, record: bool) -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline and budget[0] > 0:
                budget[0] -= 1
                t0 = time.perf_counter()
                writer.write(request)
                status, _ = await read_response(reader)
                total[0] += 1
                if record:
                    latencies.append((time.perf_counter() - t0) * 1000)
                    errors += status != 200
        finally:
            writer.close()

    warm = time.perf_counter() + 1.0
    await asyncio.gather(*(worker(warm, False) for _ in range(connections)))
    budget[0] = max_requests
    t0 = time.perf_counter()
    await asyncio.gather(*(worker(t0 + seconds, True) for _ in range(connections)))
    return len(latencies) / (time.perf_counter() - t0), sorted(latencies), errors, total[0]


def session_cpu(sid: int) -> float | None:
    """CPU seconds used so far by every process of a session (Linux /proc; None elsewhere)."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    try:
        entries = os.listdir("/proc")
    except OSError:
        return None
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == sid:  # field 6 of stat: the session id
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")
