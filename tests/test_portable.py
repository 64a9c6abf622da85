"""``graphmem export`` / ``graphmem import`` round trips (issue 13): Kuzu to Kuzu through
the CLI, and Kuzu to the Bolt backend through the library. Same memories, relations,
validity and history, and the same top-10 for a fixed set of queries."""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from graphmem import Memory
from graphmem.errors import ValidationError
from graphmem.ingest.journal import pack_vector
from graphmem.maintenance.portable import export, import_
from graphmem.models import Scope
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


def _damaged(lines: list[str], how: str) -> list[str]:
    """``lines`` of a good export, damaged one way."""
    records = [json.loads(line) for line in lines]
    fact = next(i for i, r in enumerate(records) if r["type"] == "fact")
    event = next(i for i, r in enumerate(records) if r["type"] == "event")
    if how == "cut-short":
        return lines[: len(lines) - 3]
    if how == "not-json":
        return lines[:event] + ["{not json"] + lines[event:]
    if how == "surrogate":
        records[fact]["payload"]["user_id"] = "\ud800"
    elif how == "vector-list":
        records[fact]["vector"] = [0.0] * 384
    elif how == "vector-nan":
        records[fact]["vector"] = pack_vector([math.nan] * 384)
    elif how == "too-long":
        records[fact]["payload"]["text"] = "x" * 30_000
    elif how == "duplicate":
        records.insert(fact, dict(records[fact]))
    elif how == "disagreeing":  # the fact's text no longer what its history says
        records[fact]["payload"]["text"] = "Something else entirely."
    elif how == "no-payload":
        del records[fact]["payload"]
    return [json.dumps(r) for r in records]


@pytest.mark.parametrize(("how", "named"), [
    ("cut-short", "it was cut short"), ("not-json", "is not JSON"),
    ("surrogate", "lone surrogate"), ("vector-list", "not base64"),
    ("vector-nan", "finite"), ("too-long", "max_text_chars"),
    ("duplicate", "duplicated primary key"), ("disagreeing", "disagree"),
    ("no-payload", "without payload"),
])  # fmt: skip
def test_a_damaged_export_is_refused_whole_and_leaves_the_target_empty(tmp_path, source, how,
                                                                       named):  # fmt: skip
    m, expected = source
    buffer = io.StringIO()
    export(m, buffer)
    good = buffer.getvalue().splitlines()
    with Memory.open(tmp_path / "dst", embedder="hash", extractor="offline") as copy:
        with pytest.raises(ValidationError, match="import") as refused:
            import_(copy, _damaged(good, how))
        assert named in str(refused.value)
        assert copy.vectors.count("facts", None) == 0 and copy.history_store.count() == 0
        assert copy.ops.counts(Scope())["entities"] == 0
        import_(copy, good)  # the same target takes the good file afterwards
        assert _summary(copy) == expected
