"""Command line for the benchmark suites; ``graphmem bench`` calls ``main(argv)``."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .runtime import BenchmarkError

SUITES = {
    "locomo": "LoCoMo evidence retrieval: graphmem recipes beside BM25, dense and an oracle",
    "recall": "implicit cues and long replies repeating the query's words, built from LoCoMo",
    "synthetic": "generated scopes: 1-3 hop chains, knowledge updates, scope isolation",
    "musique": "musique-dev multi-hop passages: recorded LLM graph, offline graph, baselines",
    "speed": "ingest throughput, search and graph latency, memory and disk at several sizes",
    "serve": "mixed search/add load through graphmem serve beside the same load in process",
}
# Not a suite: rebuilds results/README.md from the stored runs.
TOOLS = {"summary": "write results/README.md from the stored results.json files"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="graphmem bench",
        description="graphmem benchmarks: judge-free retrieval metrics with baselines "
        "run side by side, plus speed and scale. Results go to benchmarks/results/<suite>/.",
    )
    commands = parser.add_subparsers(dest="suite", required=True, metavar="SUITE")
    for name, summary in {**SUITES, **TOOLS}.items():
        where = f"{__package__}.{name}" if name in TOOLS else f"{__package__}.suites.{name}"
        module = importlib.import_module(where)
        sub = commands.add_parser(name, help=summary, description=summary)
        module.add_arguments(sub)
        sub.set_defaults(handler=module.run)
    return parser


def _setup_errors() -> tuple[type[Exception], ...]:
    """graphmem's "fix your settings" errors (no LLM endpoint, Bolt server down)."""
    try:
        from graphmem.errors import BackendUnavailableError, ConfigError
    except ImportError:
        return ()
    return (ConfigError, BackendUnavailableError)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(argv) if argv is not None else None)
    try:
        return args.handler(args)
    except (BenchmarkError, FileNotFoundError, *_setup_errors()) as error:
        # A failed self-check, missing data or a missing service is a result to report,
        # not a crash; any other graphmem error mid-run is a bug and keeps its traceback.
        print(f"graphmem bench {args.suite}: {error}", file=sys.stderr)
        return 2
