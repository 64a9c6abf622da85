"""A scope index's neighbours held as slots (``index/neighbours.py``): a loaded scope
keeps a few bytes a memory for them, not a tuple, two strings and two map entries, and
writes after the load still land each memory in its place."""

from __future__ import annotations

import random
import sys

import numpy as np

from graphmem.index.scope import ScopeIndex
from graphmem.index.snapshot import compacted
from graphmem.models import Scope
from tests.test_search_neighbours import from_scratch

SCOPE = Scope(user_id="u")


def _payload(point_id: str, source: str, at: str) -> dict:
    return {"user_id": "u", "id": point_id, "text": f"memory {point_id}",
            "source_ids": [source], "created_at": at}  # fmt: skip


def _held_bytes(table) -> int:
    """What the table holds beyond the maps it shares with its index."""
    total = 0
    for name, value in vars(table).items():
        if name in ("_slot_of", "_ids", "_texts", "_merging"):
            continue
        if isinstance(value, np.ndarray):
            total += value.nbytes
        elif isinstance(value, dict):
            total += sys.getsizeof(value) + sum(
                (v.nbytes if isinstance(v, np.ndarray) else sys.getsizeof(v))
                for v in value.values()
            )
        else:
            total += sys.getsizeof(value)
    return total


def test_a_loaded_scope_holds_its_neighbours_in_a_few_bytes_a_memory():
    index = ScopeIndex(SCOPE)
    for n in range(20_000):  # one conversation, as the speed suite's scopes are
        index.put(f"m{n}", _payload(f"m{n}", f"chat/{n}", f"t{n % 50}"), [1.0, 0.0])
    lean = compacted(index)
    assert lean.neighbours.of("m500", 1) == ("m499", "m501")  # places made, as a search does
    per_memory = _held_bytes(lean.neighbours) / 20_000
    assert per_memory < 24, per_memory  # ~360 bytes as tuples, strings and map entries


def test_writes_after_a_load_keep_every_memory_in_its_place():
    """Puts, re-puts and drops on a compacted index, whose members' sort keys come from
    their payloads: each read agrees with sorting the conversation from scratch."""
    rng = random.Random(11)
    index, held = ScopeIndex(SCOPE), {}
    for n in range(600):
        source, at = f"c{n % 3}/{rng.randrange(5000)}", f"t{rng.randrange(9)}"
        index.put(f"m{n}", _payload(f"m{n}", source, at), [1.0, 0.0])
        held[f"m{n}"] = (source, at)
    index = compacted(index)
    for step in range(1500):
        point_id = f"m{rng.randrange(700)}"
        if rng.random() < 0.3:
            index.drop(point_id)
            held.pop(point_id, None)
        else:
            source, at = f"c{rng.randrange(3)}/{rng.randrange(5000)}", f"t{step}"
            index.put(point_id, _payload(point_id, source, at), [1.0, 0.0])
            held[point_id] = (source, at)
        if rng.random() < 0.1 and held:
            asked = rng.choice(sorted(held))
            assert index.neighbours.of(asked, 2) == from_scratch(held, asked, 2)
        if step == 700:  # compacted again halfway: its sorted members meet new writes
            index = compacted(index)
    assert len(index.neighbours) == len(held)
    for asked in sorted(held)[:50]:
        assert index.neighbours.of(asked, 1) == from_scratch(held, asked, 1)


def test_a_forged_member_with_no_conversation_sorts_first_and_reads_go_on():
    """A snapshot forged past its checksums could list, among a conversation's members, a
    memory whose row names none: sorting it again after writes must not fail a search."""
    from graphmem.index.neighbours import NeighbourTable

    index = ScopeIndex(SCOPE)
    for n in range(40):
        index.put(f"m{n}", _payload(f"m{n}", f"chat/{n}", "t"), [1.0, 0.0])
    index.put("x", {"user_id": "u", "id": "x", "text": "no source"}, [1.0, 0.0])
    lean = compacted(index)
    names, _ends, slots = lean.neighbours.columns()
    forged = np.concatenate([slots, [lean.slot_of["x"]]])  # listed last, as no sort puts it
    lean.neighbours = NeighbourTable(lean.slot_of, lean.ids, lean.payloads)
    lean.neighbours.restore(names, np.array([len(forged)]), forged)
    for n in range(40, 45):  # enough fresh members that the merge sorts every member again
        lean.put(f"m{n}", _payload(f"m{n}", f"chat/{n}", "t"), [1.0, 0.0])
    assert lean.neighbours.of("m0") == ("x", "m1")
    assert lean.neighbours.of("m44") == ("m43",)
