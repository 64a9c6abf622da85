"""``python -m benchmarks.gc_walk``: what a full cycle collection walks in a process that
has searched a kept dir, counted per checkout."""

from __future__ import annotations

import json

from speed_helpers import speed_dir

from benchmarks import gc_walk


def test_counts_what_the_collector_tracks_after_the_searches(tmp_path):
    data = speed_dir(tmp_path / "data")  # what the speed suite writes, at 600 memories
    out = tmp_path / "out"
    gc_walk.main(["--data", str(data), "--size", "600", "--queries", "6", "--passes", "2",
                  "--workdir", str(tmp_path / "work"), "--out", str(out)])  # fmt: skip
    [run] = json.loads((out / "results.json").read_text())["results"]["runs"].values()
    assert len(run["pass_s"]) == 2
    # The graph copy the searches loaded is held, and counted: one row per relation.
    assert run["objects"].get("HeldRelation", 0) > 100
    assert sum(run["refs"].values()) > sum(run["objects"].values())
    assert "tracked objects" in (out / "results.md").read_text()
