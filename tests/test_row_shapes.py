"""Payload rows by shape (``index/row_shapes.py``): an index holds a memory's payload in
well under half the bytes of its JSON, and reads back exactly what was put, key order,
types and all."""

from __future__ import annotations

import json

import pytest

from graphmem import Memory
from graphmem.index.payload_rows import encode_json
from graphmem.index.row_shapes import Shapes
from graphmem.index.scope import ScopeIndex
from graphmem.index.snapshot import compacted
from graphmem.models import Scope

SCOPE = Scope(user_id="alice")
FACT = {
    "user_id": "alice", "agent_id": "", "run_id": "", "id": "f-1",
    "text": "Alice works at Acme in Paris.", "created_at": "2026-11-30T08:00:00.000001Z",
    "updated_at": "2026-11-30T08:00:00.000001Z", "valid_at": "", "invalid_at": "",
    "hash": "alice works at acme in paris.", "source_ids": [], "metadata": {}, "role": "user",
    "origin": "", "memory_type": "semantic", "importance": 0.65, "expires_at": "",
    "archived_at": "", "access_count": 0, "last_accessed_at": "", "promoted_from": "",
}  # fmt: skip


def _round_trip(payload: dict, point_id="f-1", scope=("alice", "", "")) -> dict:
    shapes = Shapes()
    row = shapes.encode(payload, point_id)
    assert row is not None and row[:1] == b"\x01"
    # The table goes through JSON and its check, as a snapshot's meta does.
    loaded = Shapes.checked(json.loads(json.dumps(shapes.saved())))
    return loaded.decode(row, point_id, scope)


def _same(a: dict, b: dict) -> bool:
    """Equal with key order and each value's type (0 is not 0.0, nor False)."""
    return json.dumps(a) == json.dumps(b) and list(a) == list(b)


VARIANTS = {
    "a fact as written": {},
    "values that only look like the defaults": {"access_count": 0.0, "role": "",
                                                "metadata": {"x": 1}, "invalid_at": None},
    "a count of False": {"access_count": False},
    "a hash that is not the text in lower case": {"hash": "something else"},
    "non-ASCII text": {"text": "İstanbul ŞEHRİ", "hash": "İstanbul ŞEHRİ".lower()},
    "an update after the write": {"updated_at": "2026-12-01T00:00:00Z"},
    "an id that is not the slot's": {"id": "other"},
    "a scope field that is not text": {"agent_id": None},
    "nested lists and dicts": {"source_ids": ["D1:1", "D1:2"], "metadata": {"a": [1, {"b": 2}]}},
}  # fmt: skip


@pytest.mark.parametrize("change", VARIANTS.values(), ids=list(VARIANTS))
def test_a_row_reads_back_exactly_what_was_put(change):
    payload = {**FACT, **change}
    assert _same(_round_trip(payload), payload)


def test_keys_in_another_order_or_missing_come_back_as_they_were():
    reordered = dict(reversed(list(FACT.items())))  # hash before text, updated before created
    assert _same(_round_trip(reordered), reordered)
    sparse = {"text": "Bob paints.", "hash": "bob paints.", "importance": 0.5}
    assert _same(_round_trip(sparse), sparse)


def test_a_decoded_default_is_a_fresh_object_each_read():
    shapes = Shapes()
    row = shapes.encode(FACT, "f-1")
    first = shapes.decode(row, "f-1", ("alice", "", ""))
    first["metadata"]["changed"] = True
    first["source_ids"].append("x")
    again = shapes.decode(row, "f-1", ("alice", "", ""))
    assert again["metadata"] == {} and again["source_ids"] == []


def test_a_payload_with_a_key_that_is_not_text_is_left_to_json():
    assert Shapes().encode({1: "x", "text": "t"}, "f-1") is None


PEOPLE = ["Alice", "Bob", "Carol", "Dmitri", "Erin", "Farah", "Gustav", "Hiro", "Ines",
          "Jonas", "Keiko", "Lars", "Mona", "Nadia", "Omar", "Priya", "Quentin", "Rosa",
          "Sven", "Tomasz", "Uma", "Viktor", "Wen", "Ximena"]  # fmt: skip
FIRMS = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Wonka"]
CITIES = ["Paris", "Berlin", "Kyoto", "Lima", "Oslo"]


def test_rows_of_real_memories_take_a_third_of_their_json_and_share_one_shape(tmp_path):
    """What a user's RAM holds per memory: the facts and entities an add wrote, as the
    index keeps them, against the JSON rows it kept before."""
    with Memory.open(tmp_path, embedder="hash", extractor="offline") as m:
        m.add_many([{"text": f"{name} works at {firm} in {city}.", "source_ids": [f"D1:{i}"]}
                    for i, (name, firm, city) in enumerate(zip(PEOPLE, FIRMS * 4, CITIES * 5, strict=False))],
                   user_id="alice")  # fmt: skip
        facts = m.vectors.index(Scope(user_id="alice"), "facts")
        entities = m.vectors.index(Scope(user_id="alice"), "entities")
    for index, share in ((facts, 0.35), (entities, 0.5)):
        slots = [index.slot_of[i] for i in index.slot_of]
        shaped = sum(len(index.payloads.raw(s)) for s in slots)
        plain = sum(len(encode_json(index.payloads[s]).encode()) for s in slots)
        assert len(slots) >= 20 and shaped < share * plain, (shaped, plain)
        assert len(index.payloads.shapes.table) <= 2


def test_an_index_reads_the_same_payloads_after_it_is_compacted():
    index = ScopeIndex(SCOPE)
    payloads = {}
    for n in range(30):
        payload = {**FACT, "id": f"f-{n}", "text": f"Fact number {n}.",
                   "hash": f"fact number {n}.", "access_count": n % 3}  # fmt: skip
        payloads[payload["id"]] = payload
        index.put(payload["id"], payload, [1.0, float(n), 0.5])
    index.drop("f-4")
    del payloads["f-4"]
    lean = compacted(index)
    for point_id, payload in payloads.items():
        assert _same(lean.payload(point_id), payload)
    lean.put("f-99", {**FACT, "id": "f-99"}, [0.0, 1.0, 0.0])  # a write after the load
    assert _same(lean.payload("f-99"), {**FACT, "id": "f-99"})


FORGED_TABLES = {
    "not a list": {"x": 1},
    "an entry that is not a pair": [[["text"]]],
    "an unknown source": [[["text", "disk"]]],
    "an id under another key": [[["text", "id"]]],
    "a scope field that is not one": [[["text", "scope"]]],
    "a default the table does not have": [[["text", "default"]]],
    "a lowered hash before its text": [[["hash", "lower"], ["text", "v"]]],
    "a copy of a later key": [[["updated_at", "same:created_at"], ["created_at", "v"]]],
    "a key twice": [[["text", "v"], ["text", "v"]]],
}  # fmt: skip


@pytest.mark.parametrize("table", FORGED_TABLES.values(), ids=list(FORGED_TABLES))
def test_a_table_no_write_makes_is_refused(table):
    with pytest.raises(ValueError):
        Shapes.checked(table)


@pytest.mark.parametrize("row", [b"\x017[]", b"\x01-1[]", b"\x010[1,2,3]", b"\x010{}", b"\x01x[]"])
def test_a_row_that_does_not_fit_its_table_is_refused(row):
    shapes = Shapes()
    shapes.encode({"text": "a", "importance": 1}, "f-1")
    with pytest.raises(ValueError):
        shapes.decode(row, "f-1", ("alice", "", ""))
