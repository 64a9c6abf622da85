"""BM25 postings held as arrays (issue 16): every write and a save and load answer as
BM25 computed afresh over the documents left."""

from __future__ import annotations

import math
import random
import threading
from collections import Counter

import numpy as np
import pytest

from graphmem.index.keyword import K1, B, KeywordIndex, Postings, tokenise

WORDS = "alice bob paris rome lives paints trains cat jazz band the of sails kyoto".split()


def _reference(docs: dict[int, str], query: str) -> dict[int, float]:
    """Lucene BM25 over ``docs`` from scratch (a document of stopwords only is none)."""
    counted = {s: Counter(tokenise(t)) for s, t in docs.items()}
    counted = {s: c for s, c in counted.items() if c}
    if not counted:
        return {}
    average = sum(sum(c.values()) for c in counted.values()) / len(counted)
    out: dict[int, float] = {}
    for term in set(tokenise(query)):
        holding = [s for s, c in counted.items() if term in c]
        idf = math.log(1 + (len(counted) - len(holding) + 0.5) / (len(holding) + 0.5))
        for s in holding:
            tf, length = counted[s][term], sum(counted[s].values())
            norm = K1 * (1 - B + B * length / average)
            out[s] = out.get(s, 0.0) + idf * tf * (K1 + 1) / (tf + norm)
    return out


def _same(index: KeywordIndex, docs: dict[int, str]) -> None:
    for query in ("alice paris", "bob", "jazz band kyoto", "trains of rome", "the"):
        slots, scores = index.scores(query)
        got = dict(zip(slots.tolist(), scores.tolist(), strict=True))
        want = _reference(docs, query)
        assert got.keys() == want.keys(), query
        assert all(math.isclose(got[s], want[s], rel_tol=1e-12) for s in want), query
    for name in ("alice", "jazz band", "nobody"):
        want = sorted(s for s, t in docs.items() if set(tokenise(name)) <= set(tokenise(t)))
        assert index.containing(name) == (want if tokenise(name) else [])
    assert len(index) == sum(1 for t in docs.values() if tokenise(t))


def _restored(index: KeywordIndex, size: int) -> KeywordIndex:
    """What a snapshot's load gives: the saved columns taken as they are."""
    terms, ptr, slots, counts = index.columns()
    lengths = np.zeros(size)
    lengths[: min(size, len(index._lengths))] = index._lengths[:size]
    loaded = KeywordIndex()
    loaded.restore(terms, ptr, slots, counts, lengths, index._total_length)
    return loaded


@pytest.mark.parametrize("seed", range(4))
def test_postings_follow_adds_replacements_and_removals_across_a_save(seed):
    rng = random.Random(seed)
    index, docs = KeywordIndex(), {}
    size = 300

    def write(count: int) -> None:
        for _ in range(count):
            slot = rng.randrange(size)
            if rng.random() < 0.25:
                index.remove(slot)
                docs.pop(slot, None)
            else:
                text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 6)))
                index.add(slot, text)  # replaces what the slot held
                docs[slot] = text

    write(900)  # enough for the common terms' writes to be folded into their arrays
    _same(index, docs)
    index = _restored(index, size)
    _same(index, docs)
    write(400)  # removals after a load unlist the saved postings
    _same(index, docs)
    index = _restored(index, size)  # saved again with those writes, and loaded
    write(400)
    _same(index, docs)


def test_a_saved_term_lists_its_slots_in_order_once_each():
    index = KeywordIndex()
    for slot in (5, 2, 9, 2, 7):  # slot 2 written twice: its second text replaces the first
        index.add(slot, "Alice paints" if slot != 9 else "Bob")
    terms, ptr, slots, counts = index.columns()
    for i, term in enumerate(terms):
        part = slots[ptr[i] : ptr[i + 1]].tolist()
        assert part == sorted(set(part)), term
    assert dict(zip(terms, np.diff(ptr).tolist(), strict=True)) == {"alic": 3, "paint": 3, "bob": 1}


def test_rare_and_common_terms_score_as_bm25_afresh():
    """A rare term's few postings are merged by sorting, a common one's by slot in one
    pass: both must give the scores BM25 gives."""
    index, docs = KeywordIndex(), {}
    for slot in range(1000):
        docs[slot] = "filler words here" + (" zebra" if slot % 400 == 7 else "")
        index.add(slot, docs[slot])
    for query in ("zebra", "filler zebra", "words"):
        slots, scores = index.scores(query)
        got = dict(zip(slots.tolist(), scores.tolist(), strict=True))
        want = _reference(docs, query)
        assert got.keys() == want.keys()
        assert all(math.isclose(got[s], want[s], rel_tol=1e-12) for s in want)
    assert index.scores("zebra")[0].tolist() == [7, 407, 807]


def test_searches_side_by_side_never_fold_a_term_at_once(monkeypatch):
    """Reads fold pending writes into the arrays, and searches run side by side under
    Memory's read lock: two folding one term at once could list a slot twice."""
    index = KeywordIndex()
    for slot in range(100):
        index.add(slot, "alpha beta")  # the last writes of each term wait to be folded
    inside, most, entered = [0], [0], threading.Barrier(2, timeout=0.5)
    real = Postings.fold

    def fold(self: Postings) -> None:
        inside[0] += 1
        most[0] = max(most[0], inside[0])
        try:
            entered.wait()  # a second search folding too would meet this one here
        except threading.BrokenBarrierError:
            pass
        real(self)
        inside[0] -= 1

    monkeypatch.setattr(Postings, "fold", fold)
    found: list[list[int]] = []
    readers = [threading.Thread(target=lambda: found.append(index.scores("alpha")[0].tolist()))
               for _ in range(2)]  # fmt: skip
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()
    assert most[0] == 1
    assert found == [list(range(100))] * 2
