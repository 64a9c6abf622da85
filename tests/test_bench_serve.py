"""``graphmem bench serve`` at a toy size: both sides run, the report holds what it claims."""

from __future__ import annotations

import argparse
import json

from benchmarks.suites.serve import add_arguments, run


def test_serve_suite_runs_both_sides_and_reports_the_targets(tmp_path):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--memories", "200", "--clients", "3", "--seconds", "1.5", "--sequential", "5",
                              "--out", str(tmp_path)])  # fmt: skip
    assert run(args) == 0  # a run with errors raises BenchmarkError
    document = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    for side in ("in_process", "server"):
        measured = document["results"][side]
        assert measured["search_count"] > 0 and measured["error_count"] == 0, side
        assert set(measured["search_ms"]) == {"p50", "p95", "p99"}
        assert measured["sequential_search_ms"]["p50"] > 0
    assert document["results"]["server"]["server_tracebacks"] == 0
    text = (tmp_path / "results.md").read_text(encoding="utf-8")
    assert "graphmem serve (AsyncClient)" in text and "server searches/s >= 150" in text
