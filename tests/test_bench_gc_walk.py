"""``python -m benchmarks.gc_walk``: what a full cycle collection walks in a process that
has searched a kept dir, counted per checkout."""

from __future__ import annotations

import json

from benchmarks import gc_walk
from benchmarks.generator import generate
from graphmem import Memory


def test_counts_what_the_collector_tracks_after_the_searches(tmp_path):
    data = tmp_path / "data"
    generated = generate(600, 1, 4, 0)
    with Memory.open(data, embedder="hash", track_access=False) as m:
        items = [{"text": f.text, "source_ids": [f.source_id], "timestamp": f.timestamp}
                 for f in generated.facts]  # fmt: skip
        m.add_many(items, user_id=generated.facts[0].scope, infer=False)
    out = tmp_path / "out"
    gc_walk.main(["--data", str(data), "--size", "600", "--queries", "6", "--passes", "2",
                  "--workdir", str(tmp_path / "work"), "--out", str(out)])  # fmt: skip
    [run] = json.loads((out / "results.json").read_text())["results"]["runs"].values()
    assert len(run["pass_s"]) == 2
    # The graph copy the searches loaded is held, and counted: one row per relation.
    assert run["objects"].get("HeldRelation", 0) > 100
    assert sum(run["refs"].values()) > sum(run["objects"].values())
    assert "tracked objects" in (out / "results.md").read_text()
