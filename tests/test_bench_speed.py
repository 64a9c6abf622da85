"""The speed suite's report: tables and target checks from measured runs."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from benchmarks.runtime import PhasePeaks, peak_rss_mb
from benchmarks.suites.speed import _report, add_arguments, measure, median_run, run


def _run(embedder, size, ingest, hybrid_p95):
    latency = {"p50": hybrid_p95 / 2, "p95": hybrid_p95}
    return {
        "embedder": embedder,
        "size": size,
        "memories_written": size,
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


def test_search_latency_runs_reach_the_results_readme(tmp_path):
    from benchmarks.report import write_results
    from benchmarks.search_latency import tables
    from benchmarks.summary import build_readme

    def ms(p50, p95):
        return {"p50": p50, "p95": p95}

    run = {
        "embedder": "hash", "memories": 9982, "relations": 9141, "entities": 3010,
        "ingest_s": 17.6, "cold_first_search_ms": 1993.7, "load_before": 0.9, "load_after": 1.8,
        "hybrid": ms(9.5, 18.8), "vector": ms(8.0, 11.4), "keyword": ms(1.1, 5.4),
        "graph": ms(3.5, 16.6), "query_embedding": ms(0.1, 0.2),
        "qdrant_local_filtered": ms(238.1, 320.9), "neighbours_depth1": ms(0.14, 0.23),
        "neighbours_depth2": ms(0.89, 1.9), "expand_1hop": ms(0.09, 0.14),
        "expand_2hop": ms(0.44, 0.82),
    }  # fmt: skip
    # A run from before Qdrant Edge (qdrant-client local mode) and one on Edge.
    edge = {k: v for k, v in run.items() if k != "qdrant_local_filtered"} | {
        "memories": 99985, "vector_store": "EdgeVectorStore", "store_filtered": ms(1.25, 2.0),
    }  # fmt: skip
    out = tmp_path / "search_latency"
    runs = [run, edge]
    write_results("search_latency", {"runs": runs}, tables(runs), {"sizes": [10000]}, out)
    readme = build_readme(tmp_path)
    assert "## `search_latency`" in readme
    assert (
        "| hash | 9,982 | 9,141 | 9.500 | 18.800 | 8.000 | 11.400 | 238.1 (QdrantVectorStore) "
        "| 0.140 | 0.890 |" in readme
    )
    assert (
        "| hash | 99,985 | 9,141 | 9.500 | 18.800 | 8.000 | 11.400 | 1.2 (EdgeVectorStore) |"
        in (readme)
    )


def test_the_median_run_is_reported_with_every_rate(tmp_path):
    runs = [_run("hash", 10_000, rate, p95) for rate, p95 in ((1900.0, 9.0), (2100.0, 12.0),
                                                              (1500.0, 30.0))]  # fmt: skip
    chosen = median_run(runs)
    assert chosen["ingest_per_s"] == 1900.0
    assert chosen["search_ms"]["hybrid"]["p95"] == 9.0  # that run's searches, not a mix
    assert chosen["ingest_per_s_runs"] == [1500.0, 1900.0, 2100.0]
    args = argparse.Namespace(
        out=str(tmp_path), graph="kuzu", recipes="vector,hybrid", extract="none", scopes=1,
        queries=10, neo4j_password="secret", handler=None,
    )  # fmt: skip
    _report(args, [chosen], [], [], ["hash"])
    text = (tmp_path / "results.md").read_text(encoding="utf-8")
    assert "| hash | 10000 | 10000 | 1,900 | 1,500-2,100 (3 runs) |" in text
    assert "| ingest >= 2,000/s, hash, 10,000 | 1,900 | False |" in text


def _config(graph, options=None):
    return {
        "size": 240, "embedder": "hash", "scopes": 2, "extract": "none", "recipes": ["hybrid"],
        "queries": 3, "graph_queries": 3, "batch_size": 100, "graph": graph,
        "graph_options": options or {}, "seed": 3,
    }  # fmt: skip


def test_each_run_on_a_graph_server_ingests_for_real(bolt_server):
    """The server keeps the first run's data; the second run must not time a no-op."""
    options = {
        "neo4j_uri": bolt_server.uri, "neo4j_user": bolt_server.user,
        "neo4j_password": bolt_server.password, "neo4j_database": bolt_server.database,
    }  # fmt: skip
    first, second = measure(_config("neo4j", options)), measure(_config("neo4j", options))
    assert first["memories_written"] == second["memories_written"] == 240
    assert first["scope_suffix"] != second["scope_suffix"]
    assert second["hop1_ms"]["p50"] == second["hop1_ms"]["p50"]  # not NaN: the names were found
    assert second["graph_missing_entities"] == 0


def test_an_embedded_run_keeps_the_generated_scope_names_and_reopens():
    result = measure(_config("kuzu"))
    assert result["memories_written"] == 240
    assert result["scope_suffix"] == ""
    assert result["graph_missing_entities"] == 0
    # A fresh process opened what this one wrote and searched it.
    assert result["cold"]["open_and_first_search_s"] > result["cold"]["open_s"] > 0
    # It loaded the indexes this run saved at close; the second fresh process rebuilt them.
    assert result["cold"]["indexes_loaded"] >= 2  # the scope's facts and the graph copy
    assert result["cold_rebuilt"]["indexes_loaded"] == 0
    assert result["ingest_last10_per_s"] > 0
    # Where the peak came is recorded by phase, and the peak reported is the largest.
    phases = result["peak_rss_by_phase_mb"]
    assert list(phases) == ["ingest", "warm_up", "searches", "close"]
    assert result["peak_rss_mb"] == max(phases.values()) > 0
    # Each searched scope's first search (its index built from the stores) is timed.
    assert len(result["warm_up_s"]) == 2 and min(result["warm_up_s"]) > 0
    # The mapped files holding most pages are named, the data dir's by their own path.
    files = result["mapped_files_after_searches_mb"]
    assert files and all(mb >= 0.5 for mb in files.values())
    assert any(name.startswith("lib:") for name in files)
    assert not any(name.startswith("/") for name in files)


def test_a_kept_dir_still_opens_from_its_saved_indexes_after_the_cold_runs(tmp_path):
    from graphmem import Memory

    measure({**_config("kuzu"), "keep_data": str(tmp_path)})
    with Memory.open(tmp_path / "240-hash" / "data", embedder="hash") as m:
        m.search("who lives where", user_id="scope-000", limit=5)
        assert m.snapshots.rejected == [] and m.snapshots.loaded >= 2


def test_sizes_above_the_repeat_limit_run_once(tmp_path):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([
        "--sizes", "40,80", "--embedders", "hash", "--repeats", "2", "--repeat-max-size", "40",
        "--queries", "2", "--graph-queries", "2", "--recipes", "hybrid", "--out", str(tmp_path),
    ])  # fmt: skip
    assert run(args) == 0
    runs = json.loads((tmp_path / "results.json").read_text())["results"]["runs"]
    assert [(r["size"], len(r["ingest_per_s_runs"])) for r in runs] == [(40, 2), (80, 1)]
    assert [r["memories_written"] for r in runs] == [40, 80]


def test_the_last_tenth_rate_is_measured_where_the_scope_is_largest():
    from benchmarks.suites.speed import last_share_rate

    # Ten batches of 1,000; the last one took three seconds, the others one each.
    curve = [(n * 1000, n * 1.0 + (2.0 if n == 10 else 0.0)) for n in range(1, 11)]
    assert last_share_rate(curve) == 1000 / 3.0
    assert last_share_rate([(1000, 1.0), (2000, 3.0)]) == 500.0  # whole batches: the last half


def test_runs_from_100k_are_checked_against_the_1m_targets(tmp_path):
    args = argparse.Namespace(
        out=str(tmp_path), graph="kuzu", recipes="vector,hybrid", extract="none", scopes=1,
        queries=10, neo4j_password="secret", handler=None,
    )  # fmt: skip
    small, big = _run("hash", 10_000, 4000.0, 10.0), _run("hash", 100_000, 2000.0, 40.0)
    big["ingest_last10_per_s"] = 2400.0
    big["cold"] = {"open_and_first_search_s": 1.5, "open_s": 0.5, "first_search_s": 1.0,
                   "peak_rss_mb": 5000.0}  # fmt: skip
    _report(args, [small, big], [], [], ["hash"])
    text = (tmp_path / "results.md").read_text(encoding="utf-8")
    assert (
        "| last-10% ingest >= 70% of the 10k rate, hash, 100,000 (target at 1M) | 0.600 | False |"
        in text
    )
    assert "| hybrid p95 <= 30 ms, hash, 100,000 (target at 1M) | 40.000 | False |" in text
    assert "| reopen + first search <= 2 s, hash, 100,000 (target at 1M) | 1.500 | True |" in text
    # The cold process's high-water mark counts: it is what a restarted server holds.
    assert "| peak RSS <= 4,096 MB, hash, 100,000 (target at 1M) | 5,000 | False |" in text
    assert (tmp_path / "cold_open_vs_size.png").is_file()


def test_a_process_started_by_a_big_one_reports_its_own_peak_rss():
    # The cold-open run is started by the process that ingested everything; the kernel's
    # ru_maxrss hands the parent's peak to the child, which reported it as its own.
    held = bytearray(400 * 2**20)
    held[::4096] = b"\x01" * len(held[::4096])  # resident, not just reserved
    assert peak_rss_mb() >= 400
    code = "from benchmarks.runtime import peak_rss_mb; print(peak_rss_mb())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=Path(__file__).resolve().parents[1])  # fmt: skip
    assert float(done.stdout) < 200, done.stdout
    del held


def test_each_phase_reports_its_own_peak_and_the_run_the_largest():
    # A phase that held 300 MB and let it go must not lend that peak to the next one,
    # else every phase after the largest reads the same and the culprit is hidden.
    phases = PhasePeaks()
    held = bytearray(300 * 2**20)
    held[::4096] = b"\x01" * len(held[::4096])
    del held  # given back before the phase ends: only its high-water mark remembers it
    phases.end("big")
    phases.end("small")
    assert phases.apart
    assert phases.peaks["big"] - phases.peaks["small"] > 200, phases.peaks
    assert phases.overall() == phases.peaks["big"]
