"""A scope index built from the stores is held in its snapshot's compact form (issue 16):
it answers exactly as the index it was built as, before and after further writes, in
less memory."""

from __future__ import annotations

import gc
import random
import sys

import numpy as np
import pytest

from graphmem.index.scope import ScopeIndex
from graphmem.index.snapshot import compacted
from graphmem.models import Scope

SCOPE = Scope.of("u")
WORDS = "alice bob paints lyon rome kyoto violin tuesday brother sister boat red".split()
QUERIES = ["alice paints", "kyoto violin", "brother boat red", "nobody here"]


def _payload(n: int, rng: random.Random) -> dict:
    text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12))) + f" number {n}"
    payload = {"user_id": "u", "agent_id": "", "run_id": "", "text": text,
               "created_at": f"2026-01-{1 + n % 28:02d}T00:00:{n % 60:02d}+00:00",
               "source_ids": [f"D{n % 4}:{n}"], "importance": rng.choice([0.2, 0.5, 0.9]),
               "metadata": {"speaker": rng.choice(["Ana", "Ben"])}}  # fmt: skip
    if n % 50 == 7:
        payload["metadata"]["session"] = "s-7"  # a group by session, not by source id
    return payload


def _vector(rng: random.Random) -> list[float]:
    return [rng.gauss(0.0, 1.0) for _ in range(16)]


def _answers(index: ScopeIndex) -> dict:
    rng = random.Random(5)
    accept = lambda payload: True  # noqa: E731
    found = {
        "ids": [i for i in index.ids],
        "payloads": {i: index.payload(i) for i in index.ids if i is not None},
        "groups": {k: sorted(v) for k, v in index.groups.items()},
        "neighbours": {i: index.neighbours.of(i, 2) for i in index.ids if i is not None},
    }
    for n in range(4):
        query = np.asarray(_vector(rng), np.float32)
        found[f"vector {n}"] = index.vector_scores(query).top(15, accept)
    for query in QUERIES:
        found[query] = index.keyword_scores(query).top(15, accept)
    return found


def _filled(count: int) -> ScopeIndex:
    rng = random.Random(1)
    index = ScopeIndex(SCOPE, keywords=True)
    for n in range(count):
        index.put(f"m{n}", _payload(n, rng), _vector(rng))
    for n in range(0, count, 9):
        index.drop(f"m{n}")  # free slots, reused by later writes
    return index


def _writes(index: ScopeIndex) -> None:
    rng = random.Random(2)
    for n in range(900, 960):
        index.put(f"m{n}", _payload(n, rng), _vector(rng))
    for n in range(1, 300, 7):
        index.drop(f"m{n}")
    index.put("m2", {**_payload(2, rng), "text": "alice rewrote this one"}, _vector(rng))


def test_a_compacted_index_answers_as_the_built_one_before_and_after_writes():
    built, other = _filled(600), _filled(600)
    lean = compacted(other)
    assert lean is not other and _answers(lean) == _answers(built)
    _writes(built)
    _writes(lean)
    assert _answers(lean) == _answers(built)


def test_a_compacted_index_holds_fewer_bytes_and_objects():
    built = _filled(3000)
    for slot, point_id in enumerate(built.ids):  # what searches leave behind
        built.payloads.gate(slot)
        if point_id is not None:
            built.neighbours.of(point_id)  # each group sorted, a sort key per member
    size, objects = _deep_bytes(built), _objects(built)
    lean = compacted(built)
    # Neighbours are arrays in both forms now (neighbours.py): the objects left to shed
    # are mostly the BM25 postings a built index keeps per term.
    assert _deep_bytes(lean) < 0.8 * size and _objects(lean) < 0.9 * objects
    with pytest.raises(AttributeError):  # the built one was consumed, never half-answers
        built.payload("m1")


def _walk(root: object):
    seen, stack = set(), [root]
    while stack:
        item = stack.pop()
        if id(item) in seen or isinstance(item, type):
            continue
        seen.add(id(item))
        yield item
        if not isinstance(item, np.ndarray | str | bytes | int | float):
            stack.extend(gc.get_referents(item))


def _deep_bytes(index: ScopeIndex) -> int:
    return sum(o.nbytes if isinstance(o, np.ndarray) else sys.getsizeof(o) for o in _walk(index))


def _objects(index: ScopeIndex) -> int:
    return sum(1 for o in _walk(index) if gc.is_tracked(o))


def test_an_index_grown_by_half_is_held_compact_again_and_answers_as_one_rebuilt(tmp_path):
    from graphmem import Memory

    people = ["Alice", "Bob", "Carol", "Dan", "Erin", "Frank", "Grace"]
    items = [{"text": f"{people[n % 7]} {n} paints {('boats', 'cats', 'hills')[n % 3]} "
              f"in room {n % 97}.", "source_ids": [f"D{n // 500}:{n}"]} for n in range(9000)]  # fmt: skip
    queries = ["Who paints boats in room 7?", "Grace paints hills", "cats in room 50"]
    with Memory.open(tmp_path / "d", embedder="hash", track_access=False) as m:
        m.add_many(items[:200], user_id="u")
        m.search(queries[0], user_id="u")  # the facts index is held from here on
        for start in range(200, 9000, 1000):  # each write lands in the held index
            m.add_many(items[start : start + 1000], user_id="u")
        held = m.vectors.index(Scope.of("u"))
        # Re-compacted on the way: not every write since the first search is still fat.
        assert len(held) == 9000 and held.grown < 9000 - 200
        grown = {q: [(h.memory_id, round(h.score, 9)) for h in m.search(q, user_id="u")]
                 for q in queries}  # fmt: skip
    with Memory.open(tmp_path / "d", embedder="hash", track_access=False,
                     persist_indexes=False) as m:  # fmt: skip
        rebuilt = {q: [(h.memory_id, round(h.score, 9)) for h in m.search(q, user_id="u")]
                   for q in queries}  # fmt: skip
    assert grown == rebuilt and all(grown.values())
