"""Neighbours: a hit brings the memory stored next to it in its conversation (real stores)."""

from __future__ import annotations

import random
import threading
from dataclasses import replace

import pytest

from graphmem import Memory, ValidationError
from graphmem.index.neighbours import NeighbourTable, conversation_of, order_key
from graphmem.search import recipes
from graphmem.search.fuse import Fused
from graphmem.search.neighbours import smooth

U = "talk"
SESSION = "2023-05-08T13:56:00"
LATER = "2023-06-12T09:05:00"
QUESTION = "What should Caroline read on the flight to Lisbon?"
ANSWER = "Melanie: Take Middlemarch, it is long enough."


@pytest.fixture(scope="module")
def talk(tmp_path_factory):
    """One session where the answer is the reply to the turn the question matches."""
    m = Memory.open(tmp_path_factory.mktemp("talk"), embedder="hash")
    turns = [
        "Caroline: Morning! The garden looks wonderful today.",
        "Melanie: Thanks, the roses finally came through.",
        "Caroline: I need something to read on the flight to Lisbon.",
        ANSWER,
        "Caroline: Perfect, I will pick it up after work.",
        "Melanie: Tell me how the pottery class goes.",
    ]
    items = [{"text": t, "source_ids": [f"D1:{n}"], "timestamp": SESSION,
              "metadata": {"speaker": t.split(":")[0]}} for n, t in enumerate(turns, 1)]  # fmt: skip
    # Another session: "D2:1" follows "D1:6" in id order but was said another day.
    items.append({"text": "Caroline: The flight to Lisbon was delayed again.",
                  "source_ids": ["D2:1"], "timestamp": LATER})  # fmt: skip
    items += [{"text": f"Melanie: Note {n} about the weather, the cat and work {n}.",
               "timestamp": LATER} for n in range(20)]  # fmt: skip
    m.add_many(items, user_id=U, infer=False)
    yield m
    m.close()


def rank_of(hits, text):
    return next((i for i, h in enumerate(hits) if h.text == text), None)


def test_the_reply_to_the_matching_turn_is_found(talk):
    hits = talk.search(QUESTION, user_id=U, limit=6, recipe="hybrid")
    assert hits[0].text == "Caroline: I need something to read on the flight to Lisbon."
    at = rank_of(hits, ANSWER)  # shares no word with the question, and no meaning either
    assert at is not None
    assert hits[at].score_parts["neighbour"] > 0
    alone = replace(recipes.HYBRID, name="no-neighbours", neighbour_weight=0.0)
    without = talk.search(QUESTION, user_id=U, limit=10, recipe=alone)
    assert rank_of(without, ANSWER) is None
    assert all("neighbour" not in h.score_parts for h in without)


def test_neighbours_are_said_at_the_same_time(talk):
    hits = talk.search("Tell me how the pottery class goes", user_id=U, limit=30, recipe="text")
    by_source = {tuple(h.source_ids): h for h in hits}
    assert by_source[("D1:6",)].text.endswith("pottery class goes.")
    assert by_source[("D1:5",)].score_parts["neighbour"] > 0  # said just before, same session
    # "D2:1" follows "D1:6" in id order, but in another session: no share of its score.
    assert "neighbour" not in by_source[("D2:1",)].score_parts


def test_a_neighbour_the_filters_exclude_lends_no_score(talk):
    # Caroline's and Melanie's turns alternate: once Melanie's are filtered out, no
    # remaining turn has an admitted neighbour one place away.
    adjacent = replace(recipes.HYBRID, name="adjacent", neighbour_reach=1)
    hits = talk.search(QUESTION, user_id=U, limit=10, recipe=adjacent,
                       filters={"metadata.speaker": "Caroline"})  # fmt: skip
    assert hits and all(h.text.startswith("Caroline:") for h in hits)
    assert all("neighbour" not in h.score_parts for h in hits)


def test_source_ids_order_by_their_numbers():
    assert order_key("D1:9") < order_key("D1:10") < order_key("D2:1")
    table = NeighbourTable()
    for point_id, source in [("a", "m10"), ("b", "m9"), ("c", "m11"), ("d", "x12"), ("e", "")]:
        table.add(point_id, {"source_ids": [source] if source else [], "valid_at": "t"})
    assert table.of("a") == ("b", "c")
    assert table.of("b") == ("a",)
    assert table.of("d") == () and table.of("e") == ()  # another conversation; no source
    assert table.of("b", reach=2) == ("a", "c") and table.of("c", reach=2) == ("b", "a")
    table.remove("a")  # the two either side of a removed memory meet
    assert table.of("b") == ("c",) and table.of("c") == ("b",)
    table.add("c", {"source_ids": ["m8"], "valid_at": "t"})  # a re-put moves it
    assert table.of("c") == ("b",) and table.of("b") == ("c",)


@pytest.mark.parametrize(
    ("payload", "group"),
    [
        ({"source_ids": ["D1:7"], "valid_at": "2023-05-08T13:56:00"}, "source\x1fD1:"),
        ({"source_ids": ["17"], "metadata": {"session": 3}}, "session\x1fsession\x1f3"),
        ({"source_ids": ["17"], "valid_at": "2023-05-08T13:56:00"}, "day\x1f2023-05-08"),
        ({"source_ids": ["17"]}, None),  # a numbered passage: nothing says what is near it
    ],
)
def test_conversation_comes_from_session_source_or_day(payload, group):
    assert conversation_of(payload) == group


def test_turns_with_their_own_times_still_lift_their_neighbours(tmp_path):
    """Each turn stamped with its own minute: the reply is still found through its turn."""
    turns = ["Caroline: Morning! The garden looks wonderful today.",
             "Melanie: Thanks, the roses finally came through.",
             "Caroline: I need something to read on the flight to Lisbon.", ANSWER,
             "Caroline: Perfect, I will pick it up after work."]  # fmt: skip
    with Memory.open(tmp_path, embedder="hash") as m:
        for name, ids, meta in (("ids", lambda n: f"D1:{n}", lambda n: {}),
                                ("session", str, lambda n: {"session": 1})):  # fmt: skip
            items = [
                {
                    "text": t,
                    "source_ids": [ids(n)],
                    "metadata": meta(n),
                    "timestamp": f"2023-05-08T13:{n:02d}:00",
                }
                for n, t in enumerate(turns, 1)
            ]
            items += [{"text": f"Melanie: Note {n} about the weather, the cat and work {n}.",
                       "source_ids": [f"X{n}:1"], "timestamp": f"2023-06-{n + 1:02d}T09:00:00"}
                      for n in range(20)]  # fmt: skip
            m.add_many(items, user_id=name, infer=False)
            hits = m.search(QUESTION, user_id=name, limit=6, recipe="hybrid")
            at = rank_of(hits, ANSWER)
            assert at is not None, (name, [h.text for h in hits])
            assert hits[at].score_parts["neighbour"] > 0


def test_neighbour_reach_must_be_positive():
    with pytest.raises(ValidationError, match="neighbour_reach"):
        replace(recipes.HYBRID, neighbour_reach=0)


def test_smooth_lifts_towards_a_better_neighbour_never_past_it():
    fused = [Fused("a", 1.0, {"keyword": 1.0}), Fused("c", 0.2, {"keyword": 0.2}),
             Fused("b", 0.1, {"keyword": 0.1})]  # fmt: skip
    near = {"b": ("a", "c"), "a": ("b",), "c": ("b",)}
    out = smooth(fused, lambda i: near.get(i, ()), 0.5)
    scores = {f.memory_id: round(f.score, 6) for f in out}
    assert scores == {"a": 1.0, "b": 0.55, "c": 0.2}  # b: halfway from 0.1 to a's 1.0
    assert [f.memory_id for f in out] == ["a", "b", "c"]
    assert out[1].parts == {"keyword": 0.1, "neighbour": 0.45}
    assert "neighbour" not in out[0].parts  # the best hit is never lifted by a lesser one
    assert smooth(fused, lambda i: near.get(i, ()), 1.0)[1].score == 1.0  # up to, not past


def from_scratch(held: dict[str, tuple[str, str]], asked: str, reach: int) -> tuple[str, ...]:
    """``asked``'s neighbours by sorting its conversation anew: ``held`` maps each id to
    its (source id, created_at)."""
    group = conversation_of({"source_ids": [held[asked][0]]})
    ordered = sorted((p for p in held if conversation_of({"source_ids": [held[p][0]]}) == group),
                     key=lambda p: (order_key(held[p][0]), held[p][1], p))  # fmt: skip
    i = ordered.index(asked)
    return tuple(ordered[max(0, i - reach) : i] + ordered[i + 1 : i + 1 + reach])


def test_neighbours_stay_right_through_interleaved_adds_re_puts_and_removes():
    """Writes and reads in any order: the table always agrees with sorting from scratch,
    whichever way a group's fresh adds meet its sorted members (a few or many)."""
    rng = random.Random(5)
    table, held = NeighbourTable(), {}
    for step in range(3000):
        point_id = f"m{rng.randrange(400)}"
        if rng.random() < 0.25:
            table.remove(point_id)
            held.pop(point_id, None)
        else:
            source = f"D{rng.randrange(3)}:{rng.randrange(1000)}"
            table.add(point_id, {"source_ids": [source], "created_at": str(step)})
            held[point_id] = (source, str(step))
        if rng.random() < 0.05 and held:
            asked = rng.choice(sorted(held))
            assert table.of(asked, 2) == from_scratch(held, asked, 2)
    assert len(table) == len(held)
    saved = table.sorted_groups()
    assert sorted(i for ids in saved.values() for i in ids) == sorted(held)


def _read_all(table: NeighbourTable, asked: list[str], got: list, errors: list) -> None:
    try:
        got.append({a: table.of(a) for a in asked})
    except (KeyError, IndexError, ValueError) as exc:  # a list read mid-sort
        errors.append(exc)


def test_searches_side_by_side_read_a_group_whole_while_one_merges_it():
    """Searches run beside each other: the first to read a group after writes merges its
    fresh adds, and the others must neither see the list mid-sort nor merge it twice."""
    for _round in range(3):
        table = NeighbourTable()
        for n in range(20_000):  # sources in reverse: the merge has real sorting to do
            table.add(f"m{n}", {"source_ids": [f"D1:{20_000 - n}"], "created_at": ""})
        asked = [f"m{n}" for n in range(1, 19_999, 997)]
        want = {a: (f"m{int(a[1:]) + 1}", f"m{int(a[1:]) - 1}") for a in asked}
        got: list[dict] = []
        errors: list[Exception] = []
        threads = [threading.Thread(target=_read_all, args=(table, asked, got, errors))
                   for _ in range(4)]  # fmt: skip
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors and got == [want] * 4
