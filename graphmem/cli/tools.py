"""Commands that are not about one scope's data: demo, bench."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
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
    # The runner keeps its own exit codes (2: missing data or service): see benchmarks/.
    raise SystemExit(_runner()(ctx.args.rest))


def _runner() -> Any:
    """``benchmarks.cli.main``. The runner is no part of the installed package: it lives in
    the checkout, which ``python -m benchmarks`` finds from the current directory but the
    ``graphmem`` script did not (a console script puts only its own folder on the path, so
    the README's ``graphmem bench locomo`` failed wherever it was run). So the checkout an
    editable install points at is tried, then the current directory."""
    checkout = Path(__file__).resolve().parents[2]
    for place in (None, checkout, Path.cwd()):
        if place is not None:
            if not (place / "benchmarks" / "cli.py").is_file() or str(place) in sys.path:
                continue
            sys.path.insert(0, str(place))
        try:
            from benchmarks.cli import main
        except ModuleNotFoundError as exc:
            if exc.name != "benchmarks":  # the runner is there, one of its needs is not
                raise GraphMemError(
                    f"the benchmark runner needs {exc.name!r}, which is not installed: "
                    "pip install -e '.[bench]' in the checkout"
                ) from None
            continue
        return main
    raise GraphMemError(
        "the benchmark runner lives in the repository's benchmarks/ folder, which is not "
        "installed with graphmem: run graphmem bench from a checkout, installed with "
        "pip install -e '.[bench]'"
    )
