"""Statements that arrive out of time order: an imported backlog, or a conversation
added twice. What the graph says holds, and when, depends on the statements' own times,
not on the order they were added in; adding what is stored already changes nothing."""

from __future__ import annotations

import pytest

from graphmem import Memory

MOVES = [("Alice lives in Paris.", "2020-01-01"), ("Alice lives in Lyon.", "2022-03-01"),
         ("Alice lives in Berlin.", "2024-05-01")]  # fmt: skip
OTHERS = [("Bob works at Acme.", "2021-02-01"), ("Bob works at Globex.", "2023-07-01"),
          ("Carol is married to Dan.", "2021-06-01")]  # fmt: skip


@pytest.fixture
def mem(tmp_path):
    with Memory.open(tmp_path, embedder="hash", extractor="offline") as m:
        yield m


def _add(m: Memory, said) -> None:
    for text, when in said:
        m.add(text, user_id="u", timestamp=when)


def _graph(m: Memory) -> list[tuple[str, str, str, str, str]]:
    """Every relation of the scope, closed ones too, with its interval."""
    out = set()
    for name in ("Alice", "Bob", "Carol"):
        for r in m.graph.relations(name, include_invalid=True, user_id="u"):
            out.add((r.source_name, r.key, r.target_name, r.valid_at[:10], r.invalid_at[:10]))
    return sorted(out)


def _current_facts(m: Memory) -> list[str]:
    return sorted(f.text for f in m.get_all(user_id="u", limit=100))


def _lives(m: Memory, as_of=None) -> list[str]:
    return [r.target_name for r in m.graph.relations("Alice", as_of=as_of, user_id="u")
            if r.key == "lives_in"]  # fmt: skip


def test_an_older_statement_added_later_does_not_replace_the_current_one(mem):
    _add(mem, [MOVES[1], MOVES[0]])  # Lyon (2022), then Paris (2020)
    assert _lives(mem) == ["Lyon"]
    assert _lives(mem, as_of="2021-01-01") == ["Paris"]
    assert _lives(mem, as_of="2023-01-01") == ["Lyon"]
    # The older memory is history, as it would be had it come first.
    assert "Alice lives in Paris." not in _current_facts(mem)
    texts = [h.text for h in mem.search("Where does Alice live?", user_id="u", limit=3)]
    assert texts[0] == "Alice lives in Lyon."


def test_any_order_of_adding_gives_the_same_graph_and_memories(tmp_path):
    results = []
    for order in (MOVES + OTHERS, list(reversed(MOVES + OTHERS)), [MOVES[2], MOVES[0],
                                                                   MOVES[1], *OTHERS]):  # fmt: skip
        with Memory.open(tmp_path / str(len(results)), embedder="hash",
                         extractor="offline") as m:  # fmt: skip
            _add(m, order)
            results.append((_graph(m), _current_facts(m), _lives(m, as_of="2022-06-01")))
    assert results[0][2] == ["Lyon"]
    assert ("Alice", "lives_in", "Lyon", "2022-03-01", "2024-05-01") in results[0][0]
    assert results[1] == results[0] and results[2] == results[0]


def test_adding_stored_memories_again_changes_nothing(mem):
    _add(mem, MOVES + OTHERS)
    graph, facts, events = _graph(mem), _current_facts(mem), _events(mem)
    _add(mem, [MOVES[0], OTHERS[0]])  # the oldest ones, then everything
    _add(mem, MOVES + OTHERS)
    assert _graph(mem) == graph
    assert _current_facts(mem) == facts
    assert _lives(mem) == ["Berlin"]
    assert _events(mem) == events  # nothing closed, nothing added


def _events(m: Memory) -> dict[str, list[str]]:
    """Each stored memory's history, by event."""
    stored = m.get_all(user_id="u", limit=100, include_invalid=True)
    return {f.text: [e.event for e in m.history(f.id, user_id="u")] for f in stored}
