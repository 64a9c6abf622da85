"""An install of ``.`` without extras runs every search recipe (issue 13).

The child process refuses to import what only the extras bring (scipy, which networkx's
pagerank needed; torch and sentence-transformers, the ``local`` extra), then searches
with every registered recipe.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import networkx as nx

from graphmem.search.recipes import RECIPES
from graphmem.search.rerank import personalised_pagerank

ROOT = Path(__file__).resolve().parents[1]

CHILD = textwrap.dedent("""
    import json, sys
    for name in ("scipy", "torch", "sentence_transformers"):
        sys.modules[name] = None  # any import of them now raises ImportError
    from graphmem import Memory
    from graphmem.search.recipes import RECIPES
    out = {}
    with Memory.open(sys.argv[1], embedder="hash", extractor="offline") as m:
        m.add("Alice works at Acme. Bob is Alice's brother. Bob lives in Paris.", user_id="u")
        m.add("Acme builds rockets in Toulouse.", user_id="u")
        for name in sorted(RECIPES):
            hits = m.search("where does Alice's brother live?", user_id="u", recipe=name)
            out[name] = [h.text for h in hits]
    print(json.dumps(out))
""")


def test_every_recipe_runs_without_the_extras(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "d")],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert sorted(results) == sorted(RECIPES)
    assert all(results.values()), {k: v for k, v in results.items() if not v}


def test_pagerank_matches_networkx_on_a_graph_with_a_self_loop():
    edges = {("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "d"), ("e", "d")}
    restart = {"a": 1.0, "e": 0.25}
    graph = nx.Graph(list(edges))
    ours = personalised_pagerank(edges, restart)
    # networkx's own answer needs scipy; its pure-Python power iteration is the same rule.
    theirs = nx.pagerank(graph, alpha=0.85, personalization=restart) if _has_scipy() else None
    assert abs(sum(ours.values()) - 1.0) < 1e-9
    assert ours["a"] > ours["b"] and ours["d"] > ours["e"] * 0.5
    if theirs is not None:
        assert max(abs(ours[n] - theirs[n]) for n in graph) < 1e-6


def _has_scipy() -> bool:
    try:
        import scipy  # noqa: F401
    except ImportError:
        return False
    return True
