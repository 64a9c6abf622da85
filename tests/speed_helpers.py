"""A small data dir written as ``python -m benchmarks speed`` writes one, for the harness
tests (``search_trees``, ``gc_walk``) that search a kept speed-suite dir."""

from __future__ import annotations

from pathlib import Path

from benchmarks.generator import generate
from graphmem import Memory


def speed_dir(data: Path, size: int = 600) -> Path:
    """``size`` generated memories in one scope, added with ``infer=False``; returns ``data``."""
    generated = generate(size, 1, 4, 0)
    with Memory.open(data, embedder="hash", track_access=False) as m:
        items = [{"text": f.text, "source_ids": [f.source_id], "timestamp": f.timestamp}
                 for f in generated.facts]  # fmt: skip
        m.add_many(items, user_id=generated.facts[0].scope, infer=False)
    return data
