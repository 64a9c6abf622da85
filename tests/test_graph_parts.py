"""The graph copy saved by scope (issue 16's cold start): a reopened data dir loads the part
of the scope a search reads, answers as a copy read whole from the store would, loads the
rest before any write, and reads the store instead of a damaged part."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np

from graphmem import Memory
from graphmem.index.graph_parts import graph_arrays
from graphmem.index.snapshot import write_arrays
from graphmem.models import Scope
from graphmem.search.recipes import RECIPES
from graphmem.stores.graph_index import GraphIndex

ALICE = [
    "Alice works at Acme Corp in Berlin.",
    "Alice's brother is Bob. Bob lives in Paris and paints landscapes.",
    "Acme Corp is based in Berlin and builds trains.",
    "Alice adopted a cat named Miso last spring.",
]
BOB = ["Carol owns a red bicycle.", "Carol lives in Oslo with her brother Dan.",
       "Dan works at Fjord Labs in Oslo."]  # fmt: skip
QUERIES = ["Where does Alice work?", "Who is Alice's brother?", "Where does Carol live?",
           "Who works at Fjord Labs?"]  # fmt: skip


def _open(path: Path, **settings) -> Memory:
    return Memory.open(path, embedder="hash", extractor="offline", track_access=False, **settings)


def _fill(path: Path) -> None:
    with _open(path) as m:
        m.add_many([{"text": t} for t in ALICE], user_id="alice", infer=True)
        m.add_many([{"text": t} for t in BOB], user_id="bob", infer=True)
        _answers(m, "alice")
        _answers(m, "bob")  # both scopes' indexes built, so close saves them


def _answers(m: Memory, user: str) -> dict:
    return {(recipe, q): [(h.memory_id, round(h.score, 9)) for h in
                          m.search(q, user_id=user, recipe=recipe, limit=5)]
            for recipe in RECIPES for q in QUERIES}  # fmt: skip


def _pending(m: Memory) -> list:
    parts = m.graph_store.index().parts
    return sorted(parts.scopes[p] for p in parts.pending)


def _state(index: GraphIndex) -> tuple:
    # A fact's mentions in any order: the store returns them unordered.
    return (dict(index.entities), dict(index.relations),
            {f: set(named) for f, named in index.mentions.items() if named},
            {k: v for k, v in index.by_key.items() if v},
            {k: v for k, v in index.touching.items() if v},
            {k: v for k, v in index.mentioned.items() if v})  # fmt: skip


def _as_read_from_the_store(m: Memory) -> bool:
    """The copy, every part loaded, holds what a copy read whole from the store holds."""
    m.graph_store.index().need_all()
    held = _state(m.graph_store.index())
    m.graph_store.drop()
    return held == _state(m.graph_store.index())


def test_a_search_loads_its_own_scopes_part_and_answers_as_a_whole_copy(tmp_path):
    _fill(tmp_path)
    with _open(tmp_path, persist_indexes=False) as m:
        rebuilt = {user: _answers(m, user) for user in ("alice", "bob")}
    with _open(tmp_path) as m:
        assert m.snapshots.rejected == []
        alice = _answers(m, "alice")
        assert _pending(m) == [("bob", "", "")]  # Bob's graph was never read
        bob = _answers(m, "bob")
        assert _pending(m) == []
        assert _as_read_from_the_store(m)
    assert {"alice": alice, "bob": bob} == rebuilt
    assert any(hits for hits in bob.values())


def _reads_by_id(m: Memory) -> tuple:
    """Graph reads that name only ids (what a search's later steps ask), and their ids."""
    facts = sorted(h.memory_id for q in QUERIES
                   for h in m.search(q, user_id="bob", recipe="vector", limit=5))  # fmt: skip
    mentions = m.ops.mentions_of(facts)
    entities = sorted({e for named in mentions.values() for e in named})
    scope = Scope.of(user_id="bob")
    return (mentions, m.ops.relations_of(facts, most=100), m.ops.naming(entities, most=100),
            m.ops.relations_touching(entities, scope),
            m.ops.relations_touching(entities, scope, fanout=1))  # fmt: skip


def test_a_read_by_ids_loads_the_part_holding_them(tmp_path):
    _fill(tmp_path)
    with _open(tmp_path, persist_indexes=False) as m:
        rebuilt = _reads_by_id(m)
    with _open(tmp_path) as m:
        assert _pending(m) == [("alice", "", ""), ("bob", "", "")]
        assert _reads_by_id(m) == rebuilt
        assert _pending(m) == [("alice", "", "")]
    assert all(rebuilt[:3]) and rebuilt[3]


def test_a_scope_loads_every_part_it_covers_and_no_other(tmp_path):
    """Parts are by full scope: a search for a user reads each of the user's agents' parts,
    a search for one agent only that agent's, whichever user it names."""
    with _open(tmp_path) as m:
        for user, agent, text in (("ann", "coach", "Ann trains with Bea in Lisbon."),
                                  ("ann", "chef", "Ann cooks paella with Cid in Porto."),
                                  ("bea", "coach", "Bea runs with Dan in Madrid.")):  # fmt: skip
            m.add_many([{"text": text}], user_id=user, agent_id=agent, infer=True)
        for user, agent in (("ann", None), ("bea", None)):
            m.search("Who does Ann cook with?", user_id=user, agent_id=agent, limit=3)
    with _open(tmp_path) as m:
        m.search("Who does Ann cook with?", user_id="ann", agent_id="chef", limit=3)
        assert _pending(m) == [("ann", "coach", ""), ("bea", "coach", "")]
        m.search("Who trains?", agent_id="coach", limit=3)
        assert _pending(m) == []
    with _open(tmp_path) as m:
        hits = m.search("Who does Ann cook with?", user_id="ann", limit=3, recipe="hybrid")
        assert _pending(m) == [("bea", "coach", "")]
        assert hits and {m.get(h.memory_id, user_id="ann").scope.user_id for h in hits} == {"ann"}


def test_a_write_loads_the_parts_it_touches_first(tmp_path):
    """A delete in a part nobody read yet: loaded after the delete, the part would bring
    the deleted fact's relations and mentions back from the snapshot. Parts the write does
    not touch stay on disk and still match the store when read later."""
    _fill(tmp_path)
    with _open(tmp_path, persist_indexes=False) as m:
        gone = m.search("Carol lives in Oslo", user_id="bob", recipe="vector", limit=1)[0]
    with _open(tmp_path) as m:
        assert _pending(m) == [("alice", "", ""), ("bob", "", "")]
        m.ops.remove_facts([gone.memory_id])  # the graph's share of a delete, read in its tx
        assert _pending(m) == [("alice", "", "")]
        m.add_many([{"text": "Erin rides a blue scooter in Rome."}], user_id="erin", infer=True)
        assert _pending(m) == [("alice", "", "")]  # a new user's write reads no one else's
        assert _as_read_from_the_store(m)
        m.delete(gone.memory_id, user_id="bob")
        after = _answers(m, "bob")
        assert all(gone.memory_id not in [i for i, _ in hits] for hits in after.values())
        erin = _answers(m, "erin")
    with _open(tmp_path) as m:  # the close after the writes saved every part again
        assert _pending(m) == [("alice", "", ""), ("bob", "", ""), ("erin", "", "")]
        assert _answers(m, "bob") == after
        assert _answers(m, "erin") == erin
        assert m.snapshots.rejected == []


def test_a_cypher_write_drops_the_parts_and_the_store_answers(tmp_path):
    """A write the copy cannot follow loads no part: the copy is dropped and read again
    from the store, which holds the change."""
    _fill(tmp_path)
    with _open(tmp_path) as m:
        assert _pending(m) == [("alice", "", ""), ("bob", "", "")]
        m.cypher("MATCH (e:Entity) WHERE e.user_id = 'bob' AND e.name = 'Carol' "
                 "SET e.type = 'robot'", write=True)  # fmt: skip
        index = m.graph_store.index()
        assert index.parts is None  # read whole from the store, not from the parts
        assert {e.type for e in index.entities.values() if e.name == "Carol"} == {"robot"}
        assert _as_read_from_the_store(m)


def test_a_damaged_part_is_read_from_the_store(tmp_path):
    _fill(tmp_path)
    with _open(tmp_path, persist_indexes=False) as m:
        rebuilt = _answers(m, "bob")
    folder = tmp_path / "index-snapshot"
    entry = next(e for e in json.loads((folder / "manifest.json").read_text())["entries"]
                 if e["kind"] == "graph")  # fmt: skip
    base = folder / entry["folder"] / entry["name"]
    scopes = json.loads(np.load(f"{base}.parts.npy").tobytes())
    start, end, _sum = np.load(f"{base}.bounds.npy")[scopes.index(["bob", "", ""])]
    blob = f"{base}.blob.npy"
    raw = bytearray(Path(blob).read_bytes())
    at = len(raw) - int(np.load(blob, mmap_mode="r").shape[0]) + int(start + end) // 2
    raw[at] ^= 0xFF  # one byte inside Bob's part
    Path(blob).write_bytes(bytes(raw))
    with _open(tmp_path) as m:
        _answers(m, "alice")  # Alice's part is whole: nothing refused yet
        assert m.snapshots.rejected == []
        assert _answers(m, "bob") == rebuilt
        assert [what for what, _why in m.snapshots.rejected] == ["the graph"]
        assert "checksum" in m.snapshots.rejected[0][1]
        assert _as_read_from_the_store(m)
    with _open(tmp_path) as m:  # saved afresh on close, not kept with the damaged file
        assert _answers(m, "bob") == rebuilt
        assert m.snapshots.rejected == []
        assert m.snapshots.loaded >= 2  # the graph and Bob's facts, from the snapshot


def test_a_forged_part_whose_sums_all_hold_is_read_from_the_store(tmp_path):
    # A part rewritten with a relation's end pointing at a fact id, and every checksum
    # (the part's, the arrays', the manifest's) made to match: only its contents are wrong.
    _fill(tmp_path)
    with _open(tmp_path, persist_indexes=False) as m:
        rebuilt = _answers(m, "bob")
    folder = tmp_path / "index-snapshot"
    manifest = json.loads((folder / "manifest.json").read_text())
    entry = next(e for e in manifest["entries"] if e["kind"] == "graph")
    base = folder / entry["folder"] / entry["name"]
    scopes = json.loads(np.load(f"{base}.parts.npy").tobytes())
    bounds = np.load(f"{base}.bounds.npy")
    blob = np.load(f"{base}.blob.npy").tobytes()
    at = scopes.index(["bob", "", ""])
    start, end, _sum = (int(v) for v in bounds[at])
    chunk = blob[start:end]
    size = int.from_bytes(chunk[:8], "little")
    head = json.loads(chunk[8 : 8 + size])
    body = bytearray(chunk[8 + size + (-size % 4) :])
    codes = np.frombuffer(bytes(body), "<i4")
    target, count = head["columns"]["r.target_id"]
    assert count >= 1  # Bob's part has a relation to forge
    fact = int(codes[head["columns"]["m.facts"][0]])  # a fact's id: no entity of the part
    body[4 * target : 4 * target + 4] = fact.to_bytes(4, "little")
    forged = chunk[: 8 + size + (-size % 4)] + bytes(body)
    assert len(forged) == len(chunk)
    blob = blob[:start] + forged + blob[end:]
    bounds[at] = (start, end, zlib.adler32(forged))
    sums = write_arrays(
        base.parent, base.name, {"bounds": bounds, "blob": np.frombuffer(blob, np.uint8)}
    )
    entry["arrays"].update(sums)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with _open(tmp_path) as m:
        assert _answers(m, "bob") == rebuilt
        assert [what for what, _why in m.snapshots.rejected] == ["the graph"]
        assert "outside its part" in m.snapshots.rejected[0][1]
        assert _as_read_from_the_store(m)


def _entity(entity_id: str, user: str) -> dict:
    return {"id": entity_id, "name": entity_id, "type": "person", "aliases": [],
            "user_id": user, "agent_id": "", "run_id": "", "keys": [entity_id]}  # fmt: skip


def _relation(rel_id: str, source: str, target: str, user: str) -> dict:
    return {"id": rel_id, "source_id": source, "target_id": target, "name": "knows",
            "fact_ids": ["f1"], "user_id": user, "agent_id": "", "run_id": ""}  # fmt: skip


def _parts(index: GraphIndex) -> list:
    return json.loads(graph_arrays(index)[1]["parts"].tobytes())


def test_a_relation_across_scopes_keeps_the_copy_in_one_part():
    people = [_entity("a", "u1"), _entity("b", "u1"), _entity("c", "u2")]
    apart = GraphIndex(people, [_relation("r1", "a", "b", "u1")], [("f1", "a"), ("f2", "c")])
    assert _parts(apart) == [["u1", "", ""], ["u2", "", ""]]
    across = GraphIndex(people, [_relation("r1", "a", "c", "u1")], [("f1", "a")])
    assert _parts(across) == [None]
    mentions_both = GraphIndex(people, [], [("f1", "a"), ("f1", "c")])
    assert _parts(mentions_both) == [None]


def test_a_close_after_a_write_keeps_the_parts_it_never_loaded_as_saved(tmp_path):
    """A write to one user saves that user's part again and copies the others from the
    last snapshot unread: at 1M memories in ten scopes, loading and encoding all ten
    took 38 s of the close after one batch."""
    _fill(tmp_path)
    with _open(tmp_path) as m:
        alice = _answers(m, "alice")
        blob = m.graph_store.index().parts.path
        saved = {m.graph_store.index().parts.scopes[n]: bytes(np.load(blob)[a:b])
                 for n, (a, b, _sum) in enumerate(m.graph_store.index().parts.bounds)}  # fmt: skip
    with _open(tmp_path) as m:
        m.add_many([{"text": "Dan moved to Bergen."}], user_id="bob", infer=True)
        assert _pending(m) == [("alice", "", "")]
        _meta, arrays = graph_arrays(m.graph_store.index())
        assert _pending(m) == [("alice", "", "")]  # copied, not loaded
        bob = _answers(m, "bob")
    scopes = [tuple(s) for s in json.loads(bytes(arrays["parts"]).decode())]
    blob = arrays["blob"].tobytes()
    copied = dict(zip(scopes, (blob[a:b] for a, b, _ in arrays["bounds"]), strict=True))
    assert copied[("alice", "", "")] == saved[("alice", "", "")]
    assert copied[("bob", "", "")] != saved[("bob", "", "")]
    with _open(tmp_path) as m:  # what the close saved answers as the stores do
        assert m.snapshots.rejected == []
        assert _answers(m, "alice") == alice and _answers(m, "bob") == bob
        assert _as_read_from_the_store(m)


def test_the_parts_are_saved_as_the_file_of_their_join_without_joining_them(tmp_path):
    # The graph copy's parts are written one after another (at 1M memories joining them
    # first held 151 MB twice at the close's peak); the file and its sums must be those
    # of the joined array, or every saved graph copy is refused at the next open.
    from graphmem.index.snapshot import Chunks, read_arrays

    parts = [b"first part", b"", bytes(range(256)) * 5, "é".encode()]
    joined = np.frombuffer(b"".join(parts), np.uint8)
    as_chunks = write_arrays(tmp_path, "a", {"blob": Chunks(parts)})
    as_array = write_arrays(tmp_path, "b", {"blob": joined})
    assert as_chunks == as_array
    assert (tmp_path / "a.blob.npy").read_bytes() == (tmp_path / "b.blob.npy").read_bytes()
    assert read_arrays(tmp_path, "a", as_chunks)["blob"].tobytes() == b"".join(parts)
