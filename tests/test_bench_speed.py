"""The speed suite's report: tables and target checks from measured runs."""

from __future__ import annotations

import argparse
import json

from benchmarks.suites.speed import _report


def _run(embedder, size, ingest, hybrid_p95):
    latency = {"p50": hybrid_p95 / 2, "p95": hybrid_p95}
    return {
        "embedder": embedder,
        "size": size,
        "ingest_per_s": ingest,
        "ingest_seconds": size / ingest,
        "search_ms": {"vector": latency, "hybrid": latency},
        "hop1_ms": {"p50": 1.0},
        "hop2_ms": {"p50": 2.0},
        "peak_rss_mb": 300.0,
        "disk_mb": 40.0,
    }


def test_report_writes_tables_and_target_checks(tmp_path):
    args = argparse.Namespace(
        out=str(tmp_path), graph="kuzu", recipes="vector,hybrid", extract="none", scopes=1,
        queries=10, neo4j_password="secret", handler=None,
    )  # fmt: skip
    runs = [_run("hash", 10_000, 2500.0, 40.0), _run("local", 10_000, 300.0, 80.0)]
    _report(args, runs, ["local at 100,000"], ["hash at 100,000 failed"], ["hash", "local"])
    text = (tmp_path / "results.md").read_text(encoding="utf-8")
    assert "| ingest >= 2,000/s, hash, 10,000 | 2,500 | True |" in text
    assert "| hybrid p95 <= 50 ms at 10k, local | 80.000 | False |" in text
    assert "FAILED: hash at 100,000 failed" in text
    document = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert "neo4j_password" not in document["config"]
    assert document["results"]["skipped"] == ["local at 100,000"]
