"""A graph part saved as a table of texts and integer columns (``index/graph_codec.py``):
read back, it fills the copy exactly as the rows it was made from, and a part whose
checksum holds but whose contents do not (a forged or buggy file) is refused whole, so
the copy is read from the store instead of serving wrong neighbours."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pytest

from graphmem.index.graph_codec import Decoded
from graphmem.index.graph_parts import _absorb, graph_arrays
from graphmem.stores.graph_index import GraphIndex

PEOPLE = [
    {"id": "e-ann", "name": "Ann", "type": "person", "aliases": ["Annie", "A."],
     "user_id": "u1", "keys": ["ann", "annie"], "created_at": "2026-01-01"},
    {"id": "e-bob", "name": "Bob", "type": None, "aliases": [], "user_id": "u1",
     "keys": ["bob"], "valid_at": "2026-02-01"},
    {"id": "e-oslo", "name": "Oslo", "type": "city", "aliases": [], "user_id": "u1",
     "keys": ["oslo", "ann"]},  # a key two entities share
    {"id": "e-cat", "name": "Miso", "type": "pet", "aliases": [], "user_id": "u2",
     "keys": ["miso", "ann"]},  # the same key in another scope's part
]  # fmt: skip
RELATIONS = [
    {"id": "r1", "source_id": "e-ann", "target_id": "e-bob", "name": "sibling_of",
     "fact_ids": ["f1", "f2"], "user_id": "u1"},
    {"id": "r2", "source_id": "e-bob", "target_id": "e-oslo", "name": "lives_in",
     "fact_ids": ["f2"], "user_id": "u1", "invalid_at": "2026-03-01"},
    {"id": "r3", "source_id": "e-ann", "target_id": "e-ann", "name": "likes",
     "fact_ids": [], "user_id": "u1"},  # a relation from an entity to itself
]  # fmt: skip
MENTIONS = [("f1", "e-ann"), ("f1", "e-bob"), ("f2", "e-bob"), ("f2", "e-oslo"),
            ("f3", "e-cat")]  # fmt: skip


def _index() -> GraphIndex:
    return GraphIndex(PEOPLE, RELATIONS, MENTIONS)


def _chunks(index: GraphIndex) -> dict:
    """Each part's chunk by its scope, as a snapshot saves them."""
    _meta, arrays = graph_arrays(index)
    scopes = json.loads(arrays["parts"].tobytes())
    blob = arrays["blob"].tobytes()  # the parts saved back to back
    bounds = arrays["bounds"].tolist()
    return {tuple(s): blob[a:b] for s, (a, b, _sum) in zip(scopes, bounds, strict=True)}


def _state(index: GraphIndex) -> tuple:
    return (index.entities, index.relations, {f: set(n) for f, n in index.mentions.items()},
            index.by_key, index.touching, index.mentioned)  # fmt: skip


def _load(chunks: dict) -> GraphIndex:
    index = GraphIndex((), (), ())
    for scope, chunk in chunks.items():
        _absorb(index, Decoded(chunk), scope)
    return index


def test_parts_read_back_fill_the_copy_as_the_rows_did():
    whole = _index()
    loaded = _load(_chunks(whole))
    assert _state(loaded) == _state(whole)
    assert loaded.by_key["ann"] == {"e-ann", "e-oslo", "e-cat"}  # merged across two parts
    assert loaded.entities["e-bob"].type is None and loaded.entities["e-bob"].aliases == ()
    # The copy answers a read as the store would: rows as fresh, separate lists.
    row = loaded.answer("entities_get", {"ids": ["e-ann"], "user_id": "u1"})[0]
    assert row["aliases"] == ["Annie", "A."]
    row["aliases"].append("changed")
    assert loaded.entities["e-ann"].aliases == ("Annie", "A.")


def _forged(chunk: bytes, edit: Callable[[dict, dict], None]) -> bytes:
    """``chunk`` with its table and columns changed by ``edit``, laid out afresh, as a
    forger or a bug would write it (the part's checksum is then computed over it)."""
    size = int.from_bytes(chunk[:8], "little")
    head = json.loads(chunk[8 : 8 + size])
    body = np.frombuffer(chunk, "<i4", offset=8 + size + (-size % 4))
    columns = {n: body[a : a + c].tolist() for n, (a, c) in head["columns"].items()}
    edit(head, columns)
    bounds, start = {}, 0
    for name, values in columns.items():
        bounds[name] = [start, len(values)]
        start += len(values)
    text = json.dumps({"table": head["table"], "columns": bounds}).encode()
    flat = [v for values in columns.values() for v in values]
    return (len(text).to_bytes(8, "little") + text + b" " * (-len(text) % 4)
            + np.array(flat, "<i4").tobytes())  # fmt: skip


def _set(name: str, at: int, value: int) -> Callable[[dict, dict], None]:
    def edit(_head: dict, columns: dict) -> None:
        columns[name][at] = value

    return edit


def _table(change: Callable[[list], None]) -> Callable[[dict, dict], None]:
    return lambda head, _columns: change(head["table"])


FORGERIES = {
    "a position past the table": (_set("r.target_id", 0, 10_000), "outside its table"),
    "a negative id": (_set("e.id", 0, -1), "outside its table"),
    "a relation to an entity of no part": (_set("r.target_id", 0, 0), "outside its part"),
    "an entity listed twice": (_set("e.id", 1, 0), "listed twice"),
    "a text listed twice": (_table(lambda t: t.append(t[0])), "listed twice"),
    "a text that is not text": (_table(lambda t: t.__setitem__(0, 7)), "graph texts"),
    "list sizes that do not add up": (_set("m.named.sizes", 0, 5), "sizes"),
    "a negative list size": (_set("e.aliases.sizes", 0, -1), "sizes"),
    "a column missing": (lambda _h, c: c.pop("r.name"), "missing"),
    "a column shorter than its rows": (lambda _h, c: c["e.type"].pop(), "length"),
    "an entity of another user": (
        _table(lambda t: t.__setitem__(t.index("u1"), "u9")), "outside its part's scope"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(FORGERIES))
def test_a_part_whose_contents_do_not_hold_is_refused(case):
    edit, why = FORGERIES[case]
    chunks = _chunks(_index())
    scope = ("u1", "", "")
    if case == "a relation to an entity of no part":
        # Point the relation at a text that is a fact id, not an entity of the part.
        table = json.loads(chunks[scope][8 : 8 + int.from_bytes(chunks[scope][:8], "little")])
        edit = _set("r.target_id", 0, table["table"].index("f1"))
    chunks[scope] = _forged(chunks[scope], edit)
    with pytest.raises(ValueError, match=why):
        _load(chunks)


@pytest.mark.parametrize("cut", [0, 5, 12, -3])
def test_a_torn_part_is_refused(cut):
    chunks = _chunks(_index())
    scope = ("u1", "", "")
    chunks[scope] = chunks[scope][:cut]
    with pytest.raises(ValueError):
        _load(chunks)
