"""What counts as a typical score (the median and spread the keyword gate and the
standout rule measure from) is read over what search ranks: a message split into facts
counts once, through the source kept beside them, as if it had been stored whole."""

from __future__ import annotations

import numpy as np
import pytest

from graphmem import Memory
from graphmem.index import ScopeIndex
from graphmem.index.scope import LONG_WORDS
from graphmem.index.snapshot import load_scope, scope_arrays
from graphmem.models import Scope

SCOPE = Scope.of("u")
ROW = {"user_id": "u", "agent_id": "", "run_id": ""}


def unit(angle: float) -> list[float]:
    """A 2-d unit vector whose cosine to the query (1, 0) is cos(angle)."""
    return [float(np.cos(angle)), float(np.sin(angle))]


def filled() -> ScopeIndex:
    """Four whole messages, and one message split into eight facts far from the query."""
    index = ScopeIndex(SCOPE, keywords=False)
    for i, angle in enumerate((0.2, 0.5, 0.8, 1.1)):
        index.put(f"m{i}", {**ROW, "id": f"m{i}", "text": f"message {i}"}, unit(angle))
    for i in range(8):
        fact = {**ROW, "id": f"f{i}", "text": f"fact {i}", "origin": "s"}
        index.put(f"f{i}", fact, unit(3.0))
    index.put("s", {**ROW, "id": "s", "text": "the source", "kind": "source"}, unit(1.4))
    return index


def stats(index: ScopeIndex) -> tuple[float, float]:
    scores = index.vector_scores([1.0, 0.0])
    return scores.median(), scores.spread()


def close(got, want) -> bool:
    """Equal within what int8 rows move a cosine (``index/dots.py``): half a step of a
    row's largest component per component, at most sqrt(2) / 254 in two dimensions."""
    return bool(np.allclose(got, want, rtol=0.0, atol=6e-3))


def expected(*angles: float) -> tuple[float, float]:
    cosines = np.cos(np.array(angles))
    return float(np.median(cosines)), float(np.std(cosines))


def test_the_facts_a_kept_source_stands_for_do_not_move_the_median():
    index = filled()
    # Counted, the eight far facts would drag the median to cos(3.0) < 0.
    assert close(stats(index), expected(0.2, 0.5, 0.8, 1.1, 1.4))


def test_a_source_stored_after_its_facts_still_stands_for_them():
    index = ScopeIndex(SCOPE, keywords=False)
    index.put("f0", {**ROW, "id": "f0", "text": "fact", "origin": "s"}, unit(3.0))
    index.put("m0", {**ROW, "id": "m0", "text": "message"}, unit(0.2))
    assert close(stats(index), expected(3.0, 0.2))  # no source yet: the fact ranks
    index.put("s", {**ROW, "id": "s", "text": "source", "kind": "source"}, unit(1.4))
    assert close(stats(index), expected(0.2, 1.4))


def test_dropping_the_source_lets_its_facts_count_again():
    index = filled()
    index.drop("s")
    assert close(stats(index), expected(0.2, 0.5, 0.8, 1.1, *[3.0] * 8))
    index.drop("m0")
    assert close(stats(index), expected(0.5, 0.8, 1.1, *[3.0] * 8))


def test_a_reopened_snapshot_reads_the_same_median():
    index = filled()
    index.drop("f3")
    meta, arrays = scope_arrays(index)
    again = load_scope(SCOPE, meta, arrays)
    assert close(stats(again), stats(index))
    assert close(stats(again), expected(0.2, 0.5, 0.8, 1.1, 1.4))


def test_a_long_message_lifted_by_its_closest_part_leaves_the_median_where_it_was():
    """A message of more than LONG_WORDS words is scored halfway up to its best fact
    (``Scores.lifted``); what a typical memory scores is still read from the messages'
    own vectors, so lifting it does not move the median under the others."""
    index = ScopeIndex(SCOPE, keywords=False)
    for i, angle in enumerate((0.2, 0.5, 1.1, 1.2)):
        index.put(f"m{i}", {**ROW, "id": f"m{i}", "text": f"message {i}"}, unit(angle))
    index.put("f0", {**ROW, "id": "f0", "text": "close", "origin": "s"}, unit(0.1))
    index.put("f1", {**ROW, "id": "f1", "text": "far", "origin": "s"}, unit(3.0))
    long_text = " ".join(["word"] * (LONG_WORDS + 1))
    index.put("s", {**ROW, "id": "s", "text": long_text, "kind": "source"}, unit(1.4))
    scores = index.vector_scores([1.0, 0.0])
    lifted = scores.lifted(*index.part_slots(), 0.5)
    assert lifted.of("s") > scores.of("s") + 0.3  # halfway up to cos(0.1)
    # Read over the lifted scores, the median would be the lifted message's own score.
    assert close((lifted.median(), lifted.spread()), expected(0.2, 0.5, 1.1, 1.2, 1.4))


_LIFE = [
    "My cat keeps waking me up at five. She wants her breakfast before sunrise.",
    "We took the kids to the zoo on Sunday. They loved the lions most of all.",
    "I started running again this spring. I go three times a week before work.",
    "My sister plays the violin in an orchestra. Her first concert is in May.",
    "We had pasta for dinner with friends. Marco brought a lemon cake.",
    "The train to Oslo was late again. I missed the meeting with the client.",
    "I finished reading a novel about sailors. The ending made me cry.",
    "My parents are visiting next weekend. We will show them the old harbour.",
    "I painted the kitchen a light green. It took two whole days.",
    "Work has been stressful with the deadline. My manager asked for a new plan.",
    "I went hiking by the lake with my brother. We saw an eagle over the water.",
    "I am learning to bake sourdough bread. My first loaf was flat as a plate.",
    "I adopted a little puppy from the shelter on Saturday. She sleeps in a basket by the heater.",
    "The dust was settling over the quarry after the blast. The workers waited an hour.",
]  # fmt: skip


@pytest.mark.model
def test_both_add_paths_measure_a_stray_word_from_the_same_typical_score(tmp_path):
    """The same two-sentence messages stored whole, and through ``add()`` that splits each
    into facts beside the message: search ranks the messages alike on both paths, and the
    keyword gate keeps the same share of the stray word "settling" on both."""
    pytest.importorskip("sentence_transformers")
    query = "How is my new dog settling in?"
    with Memory.open(tmp_path, embedder="local") as m:
        m.add_many([{"text": t} for t in _LIFE], user_id="whole", infer=False)
        m.add_many([{"text": t} for t in _LIFE], user_id="split", infer=True)
        assert len(m.get_all(user_id="split", limit=100)) > len(_LIFE)  # facts were split
        whole = m.search(query, user_id="whole", recipe="text", limit=5)
        split = m.search(query, user_id="split", recipe="text", limit=5)
    # The same order, but for neighbours in a near tie: split, "The dust was settling"
    # and the zoo message were 0.0005 apart with float16 rows, and int8 rows move a
    # cosine by up to ~0.002 (index/dots.py); whole, they are 0.013 apart.
    assert {h.text for h in split} == {h.text for h in whole}
    rank = {h.text: i for i, h in enumerate(whole)}
    for above, below in zip(split, split[1:], strict=False):
        assert rank[above.text] < rank[below.text] or above.score - below.score < 0.003
    stray = [next(h for h in hits if "quarry" in h.text) for hits in (whole, split)]
    assert stray[0].score_parts["keyword_gate"] < 1.0  # the gate did cut it
    assert stray[1].score_parts["keyword_gate"] == pytest.approx(
        stray[0].score_parts["keyword_gate"], abs=1e-6
    )
