"""``graphmem export`` / ``graphmem import`` round trips (issue 13): Kuzu to Kuzu through
the CLI, and Kuzu to the Bolt backend through the library. Same memories, relations,
validity and history, and the same top-10 for a fixed set of queries."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from graphmem import Memory
from graphmem.errors import ValidationError
from graphmem.maintenance.portable import export, import_
from graphmem.stores.neo4j import Neo4jGraphStore

ROOT = Path(__file__).resolve().parents[1]
QUERIES = ["where does Alice's brother live?", "who works at Globex", "Paris",
           "what does Bob like", "Carol", "rockets"]  # fmt: skip


def _fill(m: Memory) -> None:
    m.add("Alice works at Acme. Bob is Alice's brother. Bob lives in Paris.", user_id="u",
          timestamp="2024-01-10")  # fmt: skip
    m.add("Alice moved from Acme to Globex.", user_id="u", timestamp="2024-06-15")
    m.add_triples([{"source": "Bob", "relation": "likes", "target": "chess",
                    "source_type": "person", "target_type": "concept"}], user_id="u")  # fmt: skip
    m.add_triples([{"source": "bob", "relation": "plays", "target": "piano",
                    "source_type": "person", "target_type": "concept"}], user_id="u")  # fmt: skip
    m.add_many([{"text": f"Carol note {i}: Acme builds rockets in Toulouse."} for i in range(5)],
               user_id="v")  # fmt: skip
    gone = m.add("Dan visited Rome.", user_id="v").facts[0]
    m.delete(gone.id, user_id="v")


def _summary(m: Memory) -> dict:
    rels = sorted((r["name"], r["valid_at"], r["invalid_at"], tuple(sorted(r["fact_ids"])))
                  for r in m.graph_store.run("index_relations", {}))  # fmt: skip
    facts = sorted((f.id, f.text, f.valid_at, f.invalid_at)
                   for user in ("u", "v")
                   for f in m.get_all(user_id=user, limit=100, include_invalid=True))  # fmt: skip
    events = [(e.event, e.target_kind, e.target_id) for e in m.history_store.iter_events()]
    top = {(user, q): [h.memory_id for h in m.search(q, user_id=user, limit=10)]
           for user in ("u", "v") for q in QUERIES}  # fmt: skip
    return {"facts": facts, "relations": rels, "events": events, "top10": top,
            "stats": {u: m.stats(user_id=u) for u in ("u", "v")}}  # fmt: skip


@pytest.fixture
def source(tmp_path):
    with Memory.open(tmp_path / "src", embedder="hash", extractor="offline") as m:
        _fill(m)
        assert any(r["invalid_at"] for r in m.graph_store.run("index_relations", {}))
        yield m, _summary(m)


def test_export_then_import_kuzu_to_kuzu_through_the_cli(tmp_path, source):
    m, expected = source
    dump = tmp_path / "dump.jsonl"
    with dump.open("w", encoding="utf-8") as out:
        written = export(m, out)
    m.close()
    assert written["fact"] == len(expected["facts"]) and written["event"] == len(expected["events"])
    header = json.loads(dump.read_text().splitlines()[0])
    assert header["format"] == "graphmem-export" and header["counts"]["memories"] == len(
        expected["facts"]
    )
    done = subprocess.run(
        [sys.executable, "-m", "graphmem.cli", "import", str(dump), "--data-dir",
         str(tmp_path / "dst"), "--embedder", "hash", "--json"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr  # no progress bar when stderr is not a terminal
    assert json.loads(done.stdout)["fact"] == len(expected["facts"])
    with Memory.open(tmp_path / "dst", embedder="hash", extractor="offline") as copy:
        assert _summary(copy) == expected
        assert copy.verify().ok
        with pytest.raises(ValidationError, match="already holds memories"):
            import_(copy, dump.read_text().splitlines())


def test_export_from_kuzu_imports_into_the_bolt_backend(tmp_path, source, bolt_server):
    m, expected = source
    buffer = io.StringIO()
    export(m, buffer, vectors=False)  # the target re-embeds
    graph = Neo4jGraphStore(bolt_server.uri, bolt_server.user, bolt_server.password,
                            database=bolt_server.database)  # fmt: skip
    graph.reset()  # the server outlives the test
    with Memory.open(tmp_path / "bolt", embedder="hash", extractor="offline", graph=graph) as copy:
        import_(copy, io.StringIO(buffer.getvalue()))
        got = _summary(copy)
        assert got["facts"] == expected["facts"]
        assert got["relations"] == expected["relations"]
        assert got["events"] == expected["events"]
        assert got["stats"] == expected["stats"]
        assert got["top10"] == expected["top10"]
        assert copy.verify().ok
        copy.reset()
