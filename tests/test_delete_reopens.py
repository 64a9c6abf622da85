"""Deleting a memory takes back what it caused: what it alone had closed holds again.

Before, deleting "I moved to Berlin" removed the Berlin relation and left "I live in
Paris" closed and its memory invalidated, so "Where do I live?" had no current answer
even though the user had withdrawn the move.
"""

from __future__ import annotations

import pytest
from lifecycle_helpers import Clock

from graphmem import Memory
from graphmem.errors import GraphMemError


@pytest.fixture(params=["kuzu", "bolt"])
def opened(tmp_path, request):
    """A function that opens the same memory (Kuzu, or the Bolt backend on ArcadeDB)."""
    options = {"embedder": "hash", "extractor": "offline"}
    if request.param == "bolt":
        server = request.getfixturevalue("bolt_server")
        options |= {"graph": "neo4j", "neo4j_uri": server.uri, "neo4j_user": server.user,
                    "neo4j_password": server.password, "neo4j_database": server.database}  # fmt: skip
    first = Memory.open(tmp_path / "d", **options)
    first.graph_store.reset()  # a Bolt server outlives a test
    first.close()
    yield lambda: Memory.open(tmp_path / "d", **options)
    with Memory.open(tmp_path / "d", **options) as m:
        m.graph_store.reset()


def homes(m: Memory) -> dict[str, tuple[str, str]]:
    return {r.target_name: (r.valid_at[:10], r.invalid_at[:10])
            for r in m.graph.relations("u", include_invalid=True, user_id="u")
            if r.key == "lives_in"}  # fmt: skip


def test_deleting_a_move_makes_the_home_it_ended_current_again(opened):
    with opened() as m:
        paris = m.add("I live in Paris.", user_id="u", timestamp="2020-01-01").facts[0]
        berlin = m.add("I moved to Berlin.", user_id="u", timestamp="2022-01-01").facts[0]
        assert m.get(paris.id, user_id="u").invalid_at.startswith("2022-01-01")
        m.delete(berlin.id, user_id="u")
        assert homes(m) == {"Paris": ("2020-01-01", "")}
        assert m.get(paris.id, user_id="u").invalid_at == ""
        hits = m.search("Where do I live?", user_id="u", limit=3)
        assert [h.memory_id for h in hits] == [paris.id]
        event = m.history(paris.id, user_id="u")[-1]
        assert event.event == "REOPEN" and event.details["deleted"] == [berlin.id]
        assert not any(m.verify().drift.values())
    with opened() as m:  # as stored, not only as held by the process that deleted
        assert homes(m) == {"Paris": ("2020-01-01", "")}
        assert [h.memory_id for h in m.search("Where do I live?", user_id="u")] == [paris.id]


def test_a_reopened_home_ends_where_the_next_one_still_stored_begins(opened):
    with opened() as m:
        paris = m.add("I live in Paris.", user_id="u", timestamp="2020-01-01").facts[0]
        berlin = m.add("I moved to Berlin.", user_id="u", timestamp="2022-01-01").facts[0]
        m.add("I moved to London.", user_id="u", timestamp="2024-01-01")
        m.delete(berlin.id, user_id="u")
        assert homes(m) == {"Paris": ("2020-01-01", "2024-01-01"), "London": ("2024-01-01", "")}
        # Still no current home of its own: invalid from London's start on, not Berlin's.
        assert m.get(paris.id, user_id="u").invalid_at.startswith("2024-01-01")
        assert not any(m.verify().drift.values())


def test_deleting_the_statement_of_an_end_reopens_the_job(opened):
    with opened() as m:
        m.add("I work at Google.", user_id="u", timestamp="2020-01-01")
        quit_ = m.add("I quit my job at Google.", user_id="u", timestamp="2023-01-01").facts[0]
        assert [r.invalid_at[:10] for r in m.graph.relations("Google", user_id="u",
                                                             include_invalid=True)] == ["2023-01-01"]  # fmt: skip
        m.delete(quit_.id, user_id="u")
        jobs = [(r.name, r.invalid_at) for r in m.graph.relations("u", user_id="u")]
        assert jobs == [("works_at", "")]


def test_what_something_still_stored_closes_stays_closed(tmp_path):
    with Memory.open(tmp_path, embedder="hash", extractor="offline") as m:
        paris = m.add("I live in Paris.", user_id="u", timestamp="2020-01-01").facts[0]
        said = m.add("I moved to Berlin.", user_id="u", timestamp="2022-01-01").facts[0]
        m.add("I moved to Berlin!", user_id="u", timestamp="2022-01-01")  # the same move
        # A home that ended by its own dates has no cause to take back.
        m.add("Ann lived in Rome until 2019.", user_id="u", timestamp="2021-01-01")
        m.delete(said.id, user_id="u")
        assert homes(m) == {"Paris": ("2020-01-01", "2022-01-01"), "Berlin": ("2022-01-01", "")}
        assert m.get(paris.id, user_id="u").invalid_at.startswith("2022-01-01")
        ann = m.graph.relations("Ann", include_invalid=True, user_id="u")
        assert [r.invalid_at[:4] for r in ann] == ["2019"]
        assert [e.event for e in m.history(paris.id, user_id="u")] == ["ADD", "INVALIDATE"]


def test_an_expired_move_gives_the_home_back(tmp_path):
    """A memory with a time to live that lapses is forgotten, and so is what it ended."""
    clock = Clock()
    with Memory.open(tmp_path, embedder="hash", extractor="offline", clock=clock) as m:
        paris = m.add("I live in Paris.", user_id="u").facts[0]
        clock.advance(hours=1)
        m.add("I moved to Berlin.", user_id="u", ttl="2h")
        assert m.get(paris.id, user_id="u").invalid_at != ""
        clock.advance(hours=3)
        m.maintain(user_id="u")
        assert [k for k, (_, end) in homes(m).items() if not end] == ["Paris"]
        assert m.get(paris.id, user_id="u").invalid_at == ""


def test_a_reopening_is_confined_to_the_deleting_scope(tmp_path):
    with Memory.open(tmp_path, embedder="hash", extractor="offline") as m:
        for user in ("u", "v"):
            m.add("I live in Paris.", user_id=user, timestamp="2020-01-01")
        moves = {user: m.add("I moved to Berlin.", user_id=user, timestamp="2022-01-01")
                 for user in ("u", "v")}  # fmt: skip
        m.delete(moves["u"].facts[0].id, user_id="u")
        assert homes(m) == {"Paris": ("2020-01-01", "")}
        held = {r.target_name: r.invalid_at[:10] for r in m.graph.relations(
            "v", include_invalid=True, user_id="v")}  # fmt: skip
        assert held == {"Paris": "2022-01-01", "Berlin": ""}


def test_a_reopened_relation_of_many_values_is_current_again_beside_the_others(tmp_path):
    """Only a single-valued relation ends where the next of its kind begins: a second pet
    adopted later does not end the first."""
    with Memory.open(tmp_path / "d", embedder="hash", extractor="offline") as m:
        m.add("My dog Rex is so cute.", user_id="u", timestamp="2020-01-01")
        m.add("We adopted a cat named Luna.", user_id="u", timestamp="2021-01-01")
        death = m.add("My dog Rex passed away.", user_id="u", timestamp="2023-05-01").facts[0]
        m.delete(death.id, user_id="u")
        pets = {r.target_name: r.invalid_at for r in m.graph.relations(
            "u", include_invalid=True, user_id="u") if r.key == "pet"}  # fmt: skip
        assert pets == {"Rex": "", "Luna": ""}


def test_rewording_a_move_into_something_else_gives_the_home_back(opened):
    """update() withdraws what the old words claimed, as a delete does: what they alone
    had closed holds again, unless the new words close it once more."""
    with opened() as m:
        paris = m.add("I live in Paris.", user_id="u", timestamp="2020-01-01").facts[0]
        move = m.add("I moved to Berlin.", user_id="u", timestamp="2022-01-01").facts[0]
        m.update(move.id, "I like tea.", user_id="u")
        assert homes(m) == {"Paris": ("2020-01-01", "")}
        assert m.get(paris.id, user_id="u").invalid_at == ""
        m.update(move.id, "I moved to London.", user_id="u")  # said when Berlin was
        assert homes(m) == {"Paris": ("2020-01-01", "2022-01-01"), "London": ("2022-01-01", "")}
        assert m.get(paris.id, user_id="u").invalid_at.startswith("2022-01-01")
        events = [e.event for e in m.history(paris.id, user_id="u")]
        assert events == ["ADD", "INVALIDATE", "REOPEN", "INVALIDATE"]
        assert not any(m.verify().drift.values())


def test_a_delete_that_fails_midway_reopens_nothing(tmp_path, monkeypatch):
    """The reopening is part of the delete's one change: a history that cannot be written
    leaves the move, the closed home and the invalidated memory as they were."""
    with Memory.open(tmp_path / "d", embedder="hash", extractor="offline") as m:
        paris = m.add("I live in Paris.", user_id="u", timestamp="2020-01-01").facts[0]
        berlin = m.add("I moved to Berlin.", user_id="u", timestamp="2022-01-01").facts[0]

        def down(events, **kwargs):
            raise GraphMemError("history store is down")

        monkeypatch.setattr(m.history_store, "record", down)
        with pytest.raises(GraphMemError, match="history store is down"):
            m.delete(berlin.id, user_id="u")
        monkeypatch.undo()
        assert homes(m) == {"Paris": ("2020-01-01", "2022-01-01"), "Berlin": ("2022-01-01", "")}
        assert m.get(paris.id, user_id="u").invalid_at.startswith("2022-01-01")
        assert m.get(berlin.id, user_id="u").text == "I moved to Berlin."
        assert not any(m.verify().drift.values())
