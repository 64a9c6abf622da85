"""Suite ``serve``: the same mixed load in process and through ``graphmem serve``.

N clients run concurrently for a fixed time, each picking search or add at random
(``--search-share``), on one scope holding ``--memories`` memories. The in-process side
runs the clients as asyncio tasks on ``AsyncMemory`` (the lanes the server uses); the
server side runs them as ``AsyncClient``s, one API key each, against a real
``graphmem serve`` child process on 127.0.0.1 over a copy of the same data directory.
The difference is what HTTP, JSON and auth cost. Both sides share this machine's two
cores with the load generator (and, on the server side, with the server), as any
loopback test does: the figures are an upper bound on what a remote client pays.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ..generator import generate
from ..metrics import percentiles_ms
from ..report import Table, default_out, plot_lines, write_results
from ..runtime import EMBEDDERS, BenchmarkError, batched, make_embedder, open_memory

SCOPE = "scope-000"
WARM_UP = 3  # searches per client before the clock starts: first ones build indexes


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--memories", type=int, default=10_000, help="memories in the scope")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients")
    parser.add_argument("--seconds", type=float, default=60.0, help="timed load per side")
    parser.add_argument("--search-share", type=float, default=0.8, help="share of searches")
    parser.add_argument("--embedder", choices=EMBEDDERS, default="hash")
    parser.add_argument("--recipe", default="hybrid")
    parser.add_argument("--limit", type=int, default=10, help="hits per search")
    parser.add_argument("--readers", type=int, default=4, help="server read threads")
    parser.add_argument("--sequential", type=int, default=100,
                        help="one client's searches, one at a time, before the load: the "
                        "per-request cost without queueing")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="", help="results dir (default results/serve)")


Call = Callable[[int, str], Awaitable[Any]]


async def drive(search: Call, add: Call, args: argparse.Namespace, questions: list[str]) -> dict:
    """Run ``args.clients`` clients for ``args.seconds``; latencies and errors per kind."""
    latencies: dict[str, list[float]] = {"search": [], "add": []}
    errors: dict[str, int] = {"search": 0, "add": 0}
    messages: list[str] = []

    async def client(number: int) -> None:
        rng = random.Random(args.seed * 1000 + number)
        for _ in range(WARM_UP):
            await search(number, rng.choice(questions))
        ready.append(number)
        await start.wait()
        count = 0
        while time.perf_counter() < deadline:
            kind = "search" if rng.random() < args.search_share else "add"
            count += 1
            text = rng.choice(questions) if kind == "search" else (
                f"Client {number} note {count}: {rng.choice(questions).rstrip('?')}.")  # fmt: skip
            began = time.perf_counter()
            try:
                await (search if kind == "search" else add)(number, text)
            except Exception as exc:  # noqa: BLE001 - every failure is a counted error
                errors[kind] += 1
                if len(messages) < 10:
                    messages.append(f"{kind}: {type(exc).__name__}: {exc}"[:300])
                continue
            latencies[kind].append(time.perf_counter() - began)

    start, ready = asyncio.Event(), []
    deadline = float("inf")
    tasks = [asyncio.create_task(client(n)) for n in range(args.clients)]
    # The clock starts for everyone at once, when every client has warmed up.
    while len(ready) < len(tasks) and not any(t.done() for t in tasks):
        await asyncio.sleep(0.05)
    began = time.perf_counter()
    deadline = began + args.seconds
    start.set()
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - began
    return _summary(latencies, errors, messages, elapsed)


async def one_at_a_time(search: Call, args: argparse.Namespace, questions: list[str]) -> dict:
    """Latency of single searches with nothing else in flight."""
    rng = random.Random(args.seed)
    for _ in range(WARM_UP):
        await search(0, rng.choice(questions))
    timings = []
    for _ in range(args.sequential):
        began = time.perf_counter()
        await search(0, rng.choice(questions))
        timings.append(time.perf_counter() - began)
    return percentiles_ms(timings, (50, 95, 99))


def _summary(latencies, errors, messages, elapsed) -> dict[str, Any]:
    out: dict[str, Any] = {"seconds": elapsed, "errors": errors, "error_messages": messages}
    total = 0
    for kind, values in latencies.items():
        out[f"{kind}_ms"] = percentiles_ms(values, (50, 95, 99))
        out[f"{kind}_count"] = len(values)
        out[f"{kind}_per_s"] = len(values) / elapsed
        total += len(values)
    out["requests_per_s"] = total / elapsed
    out["error_count"] = sum(errors.values())
    return out


def ingest(data_dir: Path, args: argparse.Namespace) -> list[str]:
    """The scope's memories, written once; returns the questions to search with."""
    data = generate(args.memories, 1, 100, args.seed)
    memory = open_memory(data_dir, make_embedder(args.embedder))
    try:
        items = [{"text": f.text, "source_ids": [f.source_id], "timestamp": f.timestamp}
                 for f in data.facts]  # fmt: skip
        for chunk in batched(items, 1000):
            memory.add_many(list(chunk), user_id=SCOPE, infer=False, batch_size=1000)
    finally:
        memory.close()
    return [q.text for q in data.questions]


async def in_process(data_dir: Path, args: argparse.Namespace, questions: list[str]) -> dict:
    from graphmem import AsyncMemory

    memory = open_memory(data_dir, make_embedder(args.embedder))
    amem = AsyncMemory(memory, readers=args.readers)
    try:

        async def search(_n: int, text: str) -> Any:
            return await amem.search(text, user_id=SCOPE, limit=args.limit, recipe=args.recipe)

        async def add(_n: int, text: str) -> Any:
            return await amem.add(text, user_id=SCOPE)

        alone = await one_at_a_time(search, args, questions)
        result = await drive(search, add, args, questions)
    finally:
        await amem.aclose()
    result["sequential_search_ms"] = alone
    return result


async def through_server(data_dir: Path, args: argparse.Namespace, questions: list[str]) -> dict:
    from graphmem import AsyncClient
    from graphmem.testing.server import ServedMemory

    served = ServedMemory(
        data_dir, embedder=args.embedder,
        # One key per client and no rate limit: the load is the point here. No access
        # log: each line would be written and read back by this process too.
        extra_args=("--rate-limit", "0", "--no-access-log", "--readers", str(args.readers)),
    )  # fmt: skip
    try:
        keys = [served.keys.create(user_id=SCOPE, label=f"bench {n}")[0]
                for n in range(args.clients)]  # fmt: skip
        clients = [AsyncClient(served.url, key, timeout=120) for key in keys]
        try:

            async def search(n: int, text: str) -> Any:
                return await clients[n].search(text, limit=args.limit, recipe=args.recipe)

            async def add(n: int, text: str) -> Any:
                return await clients[n].add(text)

            alone = await one_at_a_time(search, args, questions)
            result = await drive(search, add, args, questions)
            result["sequential_search_ms"] = alone
        finally:
            for c in clients:
                await c.aclose()
    finally:
        output = served.stop()
    result["server_tracebacks"] = output.count("Traceback")
    return result


def run(args: argparse.Namespace) -> int:
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="graphmem-serve-") as scratch:
        first, second = Path(scratch) / "in-process", Path(scratch) / "served"
        print(f"serve: ingesting {args.memories:,} memories", file=sys.stderr, flush=True)
        questions = ingest(first, args)
        shutil.copytree(first, second)
        print("serve: in-process load", file=sys.stderr, flush=True)
        local = asyncio.run(in_process(first, args, questions))
        print("serve: load through graphmem serve", file=sys.stderr, flush=True)
        remote = asyncio.run(through_server(second, args, questions))
    load_after = os.getloadavg()
    report(args, {"in_process": local, "server": remote,
                  "load_before": load_before, "load_after": load_after})  # fmt: skip
    if remote["error_count"] or local["error_count"]:
        raise BenchmarkError(f"errors under load: {remote['error_messages'][:3]}")
    return 0


def report(args: argparse.Namespace, results: dict[str, Any]) -> Path:
    out_dir = Path(args.out) if args.out else default_out("serve")
    local, remote = results["in_process"], results["server"]
    table = Table(
        f"{args.clients} clients, {args.search_share:.0%} search / {1 - args.search_share:.0%} "
        f"add, {args.seconds:g} s per side, {args.memories:,} memories, embedder "
        f"{args.embedder}, recipe {args.recipe}",
        ["where", "requests/s", "searches/s", "adds/s", "search p50/p95/p99 ms",
         "add p50/p95/p99 ms", "errors", "one search alone p50/p95 ms"],
    )  # fmt: skip
    for name, r in (("in process (AsyncMemory)", local), ("graphmem serve (AsyncClient)", remote)):
        table.rows.append([
            name, r["requests_per_s"], r["search_per_s"], r["add_per_s"],
            " / ".join(f"{r['search_ms'][p]:.1f}" for p in ("p50", "p95", "p99")),
            " / ".join(f"{r['add_ms'][p]:.1f}" for p in ("p50", "p95", "p99")),
            r["error_count"],
            " / ".join(f"{r['sequential_search_ms'][p]:.1f}" for p in ("p50", "p95")),
        ])  # fmt: skip
    gap = remote["search_ms"]["p95"] - local["search_ms"]["p95"]
    checks = Table("Against the issue's targets", ["check", "measured", "met"])
    checks.rows += [
        ["0 errors through the server", remote["error_count"], remote["error_count"] == 0],
        ["server search p95 <= in-process p95 + 10 ms", f"{gap:+.1f} ms", gap <= 10],
        ["server searches/s >= 150", remote["search_per_s"], remote["search_per_s"] >= 150],
    ]
    plot_lines(
        out_dir / "latency_percentiles.png",
        {f"{side} {kind}": {float(p[1:]): r[f"{kind}_ms"][p] for p in ("p50", "p95", "p99")}
         for side, r in (("in-process", local), ("server", remote)) for kind in ("search", "add")},
        title="latency under mixed load", xlabel="percentile", ylabel="ms",
    )  # fmt: skip
    before, after = results["load_before"], results["load_after"]
    preamble = [
        "the load generator, and on the server side the server, share this machine's cores;"
        " other work on the machine slows both sides alike (load average "
        f"{before[0]:.1f} before, {after[0]:.1f} after)",
        "server: rate limit off, access log off, one API key per client; adds are "
        "Memory.add with the default (offline) extraction",
        f"one search alone: {args.sequential} searches by one client, one at a time, before "
        "the load (no queueing): the difference between the two rows is what HTTP, JSON and "
        "the key check add to a request",
    ]
    config = {k: v for k, v in vars(args).items() if k != "handler"}
    return write_results("serve", results, [table, checks], config, out_dir, preamble)
