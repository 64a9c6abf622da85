"""Memory lifecycle (issue 17): types, importance, expiry and what reads hide.

Time is an injected clock that the tests move by hand; the stores are the real embedded
ones, on both Qdrant Edge and qdrant-client's local mode.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from lifecycle_helpers import Clock

from graphmem import ConfigError, Memory, NotFoundError, ValidationError
from graphmem.ingest.write import fact_from_payload
from graphmem.stores.base import VectorHit


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture(params=["edge", "local"])
def mem(tmp_path, request, clock):
    with Memory.open(
        tmp_path / "data", embedder="hash", extractor="offline", vectors=request.param,
        clock=clock,
    ) as m:  # fmt: skip
        yield m


def texts(hits) -> list[str]:
    return [h.text for h in hits]


# -- fields and add() ------------------------------------------------------------------


def test_types_follow_infer_and_the_caller(mem):
    said = mem.add("Alice works at Acme.", user_id="u")
    turn = mem.add("I think it will rain.", user_id="u", infer=False)
    rule = mem.add("Always answer in French.", user_id="u", infer=False, memory_type="rule")
    assert [f.memory_type for f in (*said, *turn, *rule)] == ["semantic", "episodic", "rule"]
    stored = {f.text: f.memory_type for f in mem.get_all(user_id="u")}
    assert stored == {"Alice works at Acme.": "semantic", "I think it will rain.": "episodic",
                      "Always answer in French.": "rule"}  # fmt: skip
    assert mem.stats(user_id="u")["memory_types"] == {
        "semantic": 1, "episodic": 1, "procedural": 0, "rule": 1,
    }  # fmt: skip


def test_importance_and_expiry_are_stored(mem, clock):
    (fact,) = mem.add("Bob likes tea.", user_id="u", importance=0.9, ttl="12h")
    again = mem.get(fact.id, user_id="u")
    assert again.importance == 0.9
    assert again.expires_at == "2026-03-01T21:00:00.000000Z"
    assert (again.archived_at, again.access_count, again.promoted_from) == ("", 0, "")
    (plain,) = mem.add("The bus was late.", user_id="u")
    assert (plain.importance, plain.expires_at) == (0.5, "")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"memory_type": "diary"}, "memory_type"),
        ({"memory_type": 3}, "memory_type"),
        ({"importance": 1.5}, "importance"),
        ({"importance": True}, "importance"),
        ({"importance": float("nan")}, "importance"),
        ({"ttl": "7 days"}, "ttl"),
        ({"ttl": -5}, "ttl"),
        ({"ttl": -1e20}, "ttl"),  # once an OverflowError (a 500 over REST), not a refusal
        ({"ttl": 10**400}, "ttl"),  # an int no float holds: OverflowError too
        ({"importance": 10**400}, "importance"),
        ({"ttl": "99999999999999999999w"}, "ttl"),
        ({"ttl": "0s"}, "ttl"),
        ({"ttl": "1d", "expires_at": "2030-01-01"}, "ttl"),
        ({"expires_at": "next tuesday"}, "expires_at"),
        ({"expires_at": "2026-02-01"}, "expires_at"),  # already past by the clock
    ],
)
def test_bad_lifecycle_values_name_the_field_and_write_nothing(mem, kwargs, field):
    with pytest.raises(ValidationError) as caught:
        mem.add("Dan lives in Oslo.", user_id="u", **kwargs)
    assert caught.value.field == field
    assert mem.stats(user_id="u")["memories"] == 0


def test_a_memory_types_filter_holding_none_is_refused_not_an_empty_answer(mem):
    mem.add("Dan lives in Oslo.", user_id="u")
    for read in (lambda: mem.search("Dan", user_id="u", memory_types=[None]),
                 lambda: mem.get_all(user_id="u", memory_types=["episodic", None])):  # fmt: skip
        with pytest.raises(ValidationError) as caught:
            read()
        assert caught.value.field == "memory_types" and "None" in str(caught.value)


def test_add_many_items_override_the_call(mem, clock):
    items = [
        {"text": "Eve plays chess."},
        {"text": "Never book flights before 9am.", "memory_type": "rule", "importance": 1.0},
        {"text": "Frank is in town today.", "expires_at": "2026-03-02T00:00:00Z"},
    ]
    done = mem.add_many(items, user_id="u", ttl="7d", importance=0.2)
    got = {f.text: (f.memory_type, f.importance, f.expires_at) for f in done}
    assert got == {
        "Eve plays chess.": ("episodic", 0.2, "2026-03-08T09:00:00.000000Z"),
        "Never book flights before 9am.": ("rule", 1.0, "2026-03-08T09:00:00.000000Z"),
        "Frank is in town today.": ("episodic", 0.2, "2026-03-02T00:00:00.000000Z"),
    }


def test_add_many_names_the_bad_item_and_writes_nothing(mem):
    items = [{"text": "Gail swims."}, {"text": "Hal runs.", "ttl": "soon"}]
    with pytest.raises(ValidationError) as caught:
        mem.add_many(items, user_id="u")
    assert caught.value.field == "items[1].ttl"
    assert mem.stats(user_id="u")["memories"] == 0


def test_payloads_from_before_the_lifecycle_read_as_defaults():
    old = {"text": "Ivy sings.", "user_id": "u", "agent_id": "", "run_id": "",
           "created_at": "2025-01-01T00:00:00.000000Z"}  # fmt: skip
    fact = fact_from_payload(VectorHit("id-1", 1.0, old))
    assert (fact.memory_type, fact.importance, fact.expires_at, fact.archived_at) == (
        "semantic", 0.5, "", "",
    )  # fmt: skip
    assert (fact.access_count, fact.last_accessed_at, fact.promoted_from) == (0, "", "")


# -- reads hide what expired -----------------------------------------------------------


def test_an_expired_memory_leaves_every_read(mem, clock):
    (short,) = mem.add("Jill Baker is parked at gate 4.", user_id="u", infer=False, ttl="2h")
    mem.add("Jill Baker is allergic to peanuts.", user_id="u", infer=False)
    assert "Jill Baker is parked at gate 4." in texts(mem.search("Jill gate", user_id="u"))
    clock.advance(hours=1, minutes=59)
    assert mem.get(short.id, user_id="u").text == "Jill Baker is parked at gate 4."
    clock.advance(minutes=1)
    for recipe in ("hybrid", "vector", "keyword", "graph"):
        found = texts(mem.search("Jill gate", user_id="u", recipe=recipe))
        assert "Jill Baker is parked at gate 4." not in found, recipe
    assert texts(mem.search("Jill", user_id="u", recipe="vector")) == [
        "Jill Baker is allergic to peanuts."
    ]
    with pytest.raises(NotFoundError):
        mem.get(short.id, user_id="u")
    assert [f.text for f in mem.get_all(user_id="u")] == ["Jill Baker is allergic to peanuts."]
    assert [f.text for f in mem.graph.facts_about("Jill Baker", user_id="u")] == [
        "Jill Baker is allergic to peanuts."
    ]


def test_the_graph_api_drops_relations_no_live_memory_supports(mem, clock):
    (short,) = mem.add("Lena Park lives in Oslo.", user_id="u", infer=False, ttl="1h")
    (kept,) = mem.add("Lena Park works at Acme.", user_id="u", infer=False)

    def named() -> list[str]:
        return sorted(r.key for r in mem.graph.relations("Lena Park", user_id="u"))

    assert named() == ["lives_in", "works_at"]
    mem.archive(kept.id, user_id="u")
    assert named() == ["lives_in"]
    assert [n.entity.name for n in mem.graph.neighbours("Lena Park", user_id="u")] == ["Oslo"]
    mem.restore(kept.id, user_id="u")
    clock.advance(hours=1)  # expired: gone from the graph's reads before maintain() runs
    assert named() == ["works_at"]
    assert sorted(
        mem.graph.subgraph(user_id="u").nodes[n]["name"]
        for n in mem.graph.subgraph(user_id="u").nodes
    ) == ["Acme", "Lena Park", "Oslo"]
    assert [d["name"] for *_, d in mem.graph.subgraph(user_id="u").edges(data=True)] == ["works_at"]
    assert short.id not in {i for r in mem.graph.relations("Lena Park", user_id="u")
                            for i in r.fact_ids}  # fmt: skip


def test_a_message_whose_facts_all_expired_is_not_shown(mem, clock):
    mem.add("Kim flew to Rome. She stays at the Hotel Roma.", user_id="u", ttl="1d")
    mem.add("Kim owns a red bicycle.", user_id="u")
    assert "Kim flew to Rome. She stays at the Hotel Roma." in texts(
        mem.search("Kim Rome hotel", user_id="u")
    )
    clock.advance(days=1)
    for collapse in (True, False):
        found = texts(mem.search("Kim Rome hotel", user_id="u", collapse=collapse))
        assert found == ["Kim owns a red bicycle."], collapse


def test_get_all_pages_count_visible_memories(mem, clock):
    for i in range(6):
        mem.add(f"Note number {i} about Leo.", user_id="u", infer=False,
                ttl="1h" if i % 2 else None)  # fmt: skip
    clock.advance(hours=2)
    first = [f.text for f in mem.get_all(user_id="u", limit=2)]
    rest = [f.text for f in mem.get_all(user_id="u", limit=2, offset=2)]
    assert sorted(first + rest) == [f"Note number {i} about Leo." for i in (0, 2, 4)]
    assert len(first) == 2 and len(rest) == 1


# -- memory_types filters ----------------------------------------------------------------


def test_memory_types_filter_search_and_get_all(mem):
    mem.add("Max prefers short answers.", user_id="u", infer=False, memory_type="rule")
    mem.add("Max went hiking on Sunday.", user_id="u", infer=False)
    mem.add("Max works at Globex.", user_id="u")
    assert texts(mem.search("Max", user_id="u", memory_types=["rule"])) == [
        "Max prefers short answers."
    ]
    both = set(texts(mem.search("Max", user_id="u", memory_types=["semantic", "episodic"])))
    assert both == {"Max went hiking on Sunday.", "Max works at Globex."}
    assert [f.text for f in mem.get_all(user_id="u", memory_types="episodic")] == [
        "Max went hiking on Sunday."
    ]
    for bad in (["diary"], [], 7):
        with pytest.raises(ValidationError, match="memory_types"):
            mem.search("Max", user_id="u", memory_types=bad)
        with pytest.raises(ValidationError, match="memory_types"):
            mem.get_all(user_id="u", memory_types=bad)
    with pytest.raises(ValidationError, match="include_archived"):
        mem.search("Max", user_id="u", include_archived="yes")


def test_scopes_do_not_leak_through_type_counts(mem):
    mem.add("Ned keeps bees.", user_id="a", infer=False, memory_type="rule")
    mem.add("Olga keeps goats.", user_id="b", infer=False)
    assert mem.stats(user_id="a")["memory_types"]["rule"] == 1
    assert mem.stats(user_id="b")["memory_types"] == {
        "semantic": 0, "episodic": 1, "procedural": 0, "rule": 0,
    }  # fmt: skip


# -- the clock ---------------------------------------------------------------------------


def test_the_clock_must_be_callable_and_aware(tmp_path):
    with pytest.raises(ConfigError, match="clock"):
        Memory.open(tmp_path / "a", embedder="hash", extractor="offline", clock="now")
    naive = Memory.open(tmp_path / "b", embedder="hash", extractor="offline",
                        clock=lambda: datetime(2026, 1, 1))  # fmt: skip
    with naive:
        with pytest.raises(ConfigError, match="aware"):
            naive.add("Pat reads.", user_id="u", ttl="1d")
        assert naive.stats(user_id="u")["memories"] == 0
