"""Commands that are not about one scope's data: demo, bench."""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import GraphMemError
from .registry import Context, UsageError, arg, command


@command("demo", "store memories for two users and query them", needs="store")
def demo(ctx: Context) -> Any:
    if ctx.json:
        raise UsageError("demo is a walkthrough for people and has no --json output")
    from ..demo import run_demo

    run_demo(ctx.args.data_dir, embedder=ctx.args.embedder or "local")


@command("bench", "benchmark suites (locomo, synthetic, speed)",
         arg("rest", nargs=argparse.REMAINDER), needs="none", add_help=False)  # fmt: skip
def bench(ctx: Context) -> Any:
    try:
        from benchmarks.cli import main as bench_main
    except ImportError:
        raise GraphMemError(
            "the benchmark runner lives in the repository's benchmarks/ folder: run graphmem "
            "bench from a checkout (pip install -e '.[bench]')"
        ) from None
    # The runner keeps its own exit codes (2: missing data or service): see benchmarks/.
    raise SystemExit(bench_main(ctx.args.rest))
