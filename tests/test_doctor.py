"""``Memory.verify()`` and ``graphmem doctor [--repair]`` on planted drift (issue 13).

Each kind of drift is planted by damaging one store directly, the way a crash, a lost
folder or a hand edit would; doctor counts each kind, --repair brings it to zero, and
the history says what was repaired.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from graphmem import Memory
from graphmem.ingest.write import ENTITIES, FACTS
from graphmem.stores import kuzu_lists
from graphmem.stores.base import VectorPoint

ROOT = Path(__file__).resolve().parents[1]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "graphmem.cli", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=300,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin",
                               "GRAPHMEM_EMBEDDER": "hash", "GRAPHMEM_EXTRACTOR": "offline"})  # fmt: skip


def _plant(data: Path) -> dict[str, str]:
    """A scope of memories, then one of each kind of damage. Returns the ids hurt."""
    with Memory.open(data, embedder="hash", extractor="offline") as m:
        facts = []
        for text in ["Alice works at Acme.", "Bob lives in Paris.", "Carol knows Dan.",
                     "Erin visited Rome.", "Frank likes jazz.", "Gina plays chess."]:  # fmt: skip
            facts += m.add(text, user_id="u").facts
        report = m.verify()
        assert report.ok, report.drift
        assert report.checked["facts"] == 6
        a, b, c, d, e, f = (x.id for x in facts)
        m.vectors.delete(FACTS, [a])  # a: in the graph and the history only
        m.cypher("MATCH (x:Fact) WHERE x.id = $id DETACH DELETE x", {"id": b}, write=True)
        m.cypher("MATCH (x:Fact) WHERE x.id = $id SET x.text = 'scribbled'", {"id": d},
                 write=True)  # fmt: skip
        rels = m.cypher("MATCH (:Entity)-[r:RELATES]->(:Entity) RETURN r.id AS id, r.fact_ids")
        rel = next(r["id"] for r in rels if e in r["r.fact_ids"])
        # On Kuzu the list is stored as JSON text (stores/kuzu_lists.py).
        m.cypher("MATCH (:Entity)-[r:RELATES]->(:Entity) WHERE r.id = $id SET r.fact_ids = $ids",
                 {"id": rel, "ids": kuzu_lists.pack(["no-such-fact"])}, write=True)  # fmt: skip
        entity = m.graph.entity("Gina", user_id="u").id
        m.vectors.delete(ENTITIES, [entity])
        m.vectors.upsert(ENTITIES, [VectorPoint("00000000-0000-4000-8000-000000000001",
                                                [1.0] + [0.0] * (m.embedder.dim - 1),
                                                {"entity_id": "x", "name": "ghost",
                                                 "user_id": "u", "agent_id": "", "run_id": ""})])  # fmt: skip
    with sqlite3.connect(data / "history.sqlite") as db:
        db.execute("DELETE FROM history WHERE target_id = ? AND event = 'ADD'", (c,))
    return {"a": a, "b": b, "c": c, "d": d, "rel": rel, "entity": entity}


def test_doctor_counts_each_kind_and_repair_brings_it_to_zero(tmp_path):
    data = tmp_path / "d"
    hurt = _plant(data)
    found = _cli("doctor", "--data-dir", str(data), "--json")
    assert found.returncode == 1, found.stderr
    assert "doctor --repair" in found.stderr
    report = json.loads(found.stdout)
    assert {k: v for k, v in report["drift"].items() if v} == {
        "fact_without_vector": 1, "vector_without_fact": 1, "memory_without_history": 1,
        "fact_text_differs": 1, "relation_unknown_fact": 1, "entity_without_vector": 1,
        "vector_without_entity": 1,
    }  # fmt: skip
    assert report["examples"]["fact_without_vector"] == [hurt["a"]]
    assert report["examples"]["vector_without_fact"] == [hurt["b"]]
    assert report["examples"]["memory_without_history"] == [hurt["c"]]

    fixed = _cli("doctor", "--data-dir", str(data), "--repair", "--json")
    assert fixed.returncode == 0, fixed.stderr
    after = json.loads(fixed.stdout)
    assert after["ok"] and sum(after["drift"].values()) == 0
    assert after["repaired"]["fact_without_vector"] == 1
    again = _cli("doctor", "--data-dir", str(data))
    assert again.returncode == 0 and "no drift" in again.stdout

    with Memory.open(data, embedder="hash", extractor="offline") as m:
        for key in ("a", "b", "c", "d"):  # every memory is whole again, and says why
            assert m.history(hurt[key], user_id="u")[-1].event == "REPAIR"
        assert m.get(hurt["d"], user_id="u").text == "Erin visited Rome."
        assert [h.text for h in m.search("Bob Paris", user_id="u", limit=1)] == \
            ["Bob lives in Paris."]  # fmt: skip
        repairs = [e for e in m.history_store.events(None) if e.event == "REPAIR"]
        assert {e.details["drift"] for e in repairs} >= {"relation_unknown_fact",
                                                         "entity_without_vector"}  # fmt: skip


def test_open_refuses_the_planted_drift_and_points_to_doctor(tmp_path):
    data = tmp_path / "d"
    _plant(data)
    with Memory.open(data, embedder="hash", extractor="offline", check_stores=False) as m:
        assert m.verify().drift["vector_without_fact"] == 1
