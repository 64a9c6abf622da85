"""Command line for the benchmark suites; ``graphmem bench`` calls ``main(argv)``."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .runtime import BenchmarkError

SUITES = {
    "locomo": "LoCoMo evidence retrieval: graphmem recipes beside BM25, dense and an oracle",
    "synthetic": "generated scopes: 1-3 hop chains, knowledge updates, scope isolation",
    "speed": "ingest throughput, search and graph latency, memory and disk at several sizes",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="graphmem bench",
        description="graphmem benchmarks: judge-free retrieval metrics with baselines "
        "run side by side, plus speed and scale. Results go to benchmarks/results/<suite>/.",
    )
    commands = parser.add_subparsers(dest="suite", required=True, metavar="SUITE")
    for name, summary in SUITES.items():
        module = importlib.import_module(f"{__package__}.suites.{name}")
        sub = commands.add_parser(name, help=summary, description=summary)
        module.add_arguments(sub)
        sub.set_defaults(handler=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(argv) if argv is not None else None)
    try:
        return args.handler(args)
    except (BenchmarkError, FileNotFoundError) as error:
        # A failed self-check or missing data is a result, not a crash: say it plainly.
        print(f"graphmem bench {args.suite}: {error}", file=sys.stderr)
        return 2
