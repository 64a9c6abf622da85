"""``python -m benchmarks.search_trees``: a kept speed-suite dir searched by a checkout in
fresh processes, round after round, with every hit list compared."""

from __future__ import annotations

import json

from speed_helpers import speed_dir

from benchmarks import search_trees


def test_two_rounds_time_every_recipe_and_find_the_same_hits(tmp_path):
    data = speed_dir(tmp_path / "data")  # what the speed suite writes, at 600 memories
    out = tmp_path / "out"
    search_trees.main(["--data", str(data), "--size", "600", "--queries", "6",
                       "--recipes", "hybrid,vector", "--rounds", "2",
                       "--workdir", str(tmp_path / "work"), "--out", str(out)])  # fmt: skip
    [rounds] = json.loads((out / "results.json").read_text())["results"]["runs"].values()
    assert len(rounds) == 2
    for recipe in ("hybrid", "vector"):
        assert len(rounds[0]["cpu_s"][recipe]) == len(rounds[0]["wall_s"][recipe]) == 6
        assert sum(count for count, _sha in rounds[0]["hits"][recipe]) > 0, "they find hits"
        # A fresh process finds exactly what the last one found.
        assert rounds[1]["hits"][recipe] == rounds[0]["hits"][recipe]
    table = (out / "results.md").read_text()
    assert table.count("12 of 12") == 2  # per recipe: both rounds' six lists identical


def test_a_cold_round_times_the_first_searches_and_finds_the_same_hits(tmp_path):
    data = speed_dir(tmp_path / "data")  # what the speed suite writes, at 600 memories
    runs = {}
    for mode in ("warm", "cold"):
        out = tmp_path / mode
        search_trees.main(["--data", str(data), "--size", "600", "--queries", "6",
                           "--recipes", "hybrid", "--rounds", "1",
                           "--workdir", str(tmp_path / f"work-{mode}"), "--out", str(out),
                           *(["--cold"] if mode == "cold" else [])])  # fmt: skip
        [[runs[mode]]] = json.loads((out / "results.json").read_text())["results"]["runs"].values()
        assert "anon RSS after" in (out / "results.md").read_text()
    assert len(runs["cold"]["wall_s"]["hybrid"]) == 6
    assert runs["cold"]["rss_anon_mb"] > 0 and runs["warm"]["rss_anon_mb"] > 0
    # Searched first thing after the open or after a pass over them all: the same hits.
    assert runs["cold"]["hits"]["hybrid"] == runs["warm"]["hits"]["hybrid"]


def test_the_bolt_backend_is_searched_on_a_kept_server_root(tmp_path, bolt_server):
    """``bolt_data`` writes a root the trees share; each search records its full
    collections. (``bolt_server`` only gates the test on the server being installable:
    these start their own, on the kept root.)"""
    from benchmarks import bolt_data

    root = tmp_path / "root"
    bolt_data.main(["--root", str(root), "--size", "600", "--queries", "6"])
    out = tmp_path / "out"
    search_trees.main(["--bolt", str(root), "--data", str(root / "data"), "--size", "600",
                       "--queries", "6", "--recipes", "graph", "--rounds", "1",
                       "--workdir", str(tmp_path / "work"), "--out", str(out)])  # fmt: skip
    [[run]] = json.loads((out / "results.json").read_text())["results"]["runs"].values()
    assert sum(count for count, _sha in run["hits"]["graph"]) > 0, "the graph finds hits"
    assert len(run["gc2_s"]["graph"]) == len(run["wall_s"]["graph"]) == 6
    assert all(t >= 0 for t in run["gc2_s"]["graph"])
    assert "searches with a full collection" in (out / "results.md").read_text()
