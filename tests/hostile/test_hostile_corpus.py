"""A wide corpus of bad input at the public API, tried as an attacker and as a careless user.

Every case must raise a ``GraphMemError`` (never a TypeError, KeyError, numpy or driver
error, never a crash or a hang) and leave every store exactly as it was. Cases that are
valid input (odd but legal Unicode, a NUL in text) are in the second half: they must
either be stored faithfully or refused cleanly, and never break a later read.
"""

from __future__ import annotations

import math
from datetime import datetime

import pytest

from graphmem import GraphMemError

USER = "u"
OTHER = "someone-else"
MISSING = "00000000-0000-5000-8000-000000000000"


def deep(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth):
        value = {"k": value}
    return value


def deep_list(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


def add(text="Carol likes tea.", **kw):
    kw.setdefault("user_id", USER)
    return lambda m: m.add(text, **kw)


def search(query="Alice", **kw):
    kw.setdefault("user_id", USER)
    return lambda m: m.search(query, **kw)


def triples(value, **kw):
    kw.setdefault("user_id", USER)
    return lambda m: m.add_triples(value, **kw)


def many(items, **kw):
    kw.setdefault("user_id", USER)
    return lambda m: m.add_many(items, **kw)


def first_id(m) -> str:
    return m.get_all(user_id=USER)[0].id


REFUSED = {
    # -- add: the messages ------------------------------------------------------------
    "add-none": add(None),
    "add-int": add(12345),
    "add-bytes": add(b"Alice likes tea."),
    "add-empty": add(""),
    "add-whitespace": add(" \n\t\u3000 "),
    "add-empty-list": add([]),
    "add-list-of-none": add([None]),
    "add-list-of-strings": add(["Alice likes tea."]),
    "add-dict-no-content": add({"role": "user"}),
    "add-dict-int-content": add({"role": "user", "content": 5}),
    "add-dict-list-content": add({"role": "user", "content": ["a", "b"]}),
    "add-bad-role": add({"role": "root", "content": "Alice likes tea."}),
    "add-role-int": add({"role": 1, "content": "Alice likes tea."}),
    # Unhashable roles raised TypeError from the set lookup (a 500 over REST).
    "add-role-list": add({"role": ["user"], "content": "Alice likes tea."}),
    "add-role-dict": add({"role": {"a": 1}, "content": "Alice likes tea."}),
    "add-name-int": add({"role": "user", "content": "Alice likes tea.", "name": 7}),
    "add-name-false": add({"role": "user", "content": "Alice likes tea.", "name": False}),
    # Keys a message does not take were dropped, and what they held lost.
    "add-message-misspelt-key": add({"role": "user", "content": "I like tea.", "nmae": "Ann"}),
    "add-message-scope-key": add({"role": "user", "content": "I like tea.", "user_id": OTHER}),
    "add-name-huge": add({"role": "user", "content": "Alice likes tea.", "name": "n" * 10_000}),
    "add-too-long": add("a" * 20_001),
    # A long chat is read in windows (validate.message_windows); a trace is one memory.
    "add-too-long-trace": add(
        [{"role": "user", "content": "a" * 15_000}] * 2, memory_type="procedural"
    ),  # fmt: skip
    "add-surrogate": add("Alice \ud800 likes tea."),
    "add-low-surrogate": add("Alice \udfff likes tea."),
    "add-set": add({"Alice likes tea."}),
    "add-generator": add(x for x in ["Alice likes tea."]),
    # -- add: scope ---------------------------------------------------------------------
    "add-no-scope": add(user_id=None),
    "add-empty-user": add(user_id=""),
    "add-blank-user": add(user_id="   "),
    "add-int-user": add(user_id=5),
    "add-list-user": add(user_id=["u"]),
    "add-huge-user": add(user_id="u" * 10_000),
    "add-surrogate-user": add(user_id="\ud800"),
    "add-control-user": add(user_id="u\x1b[2J"),
    # -- add: metadata, source ids, timestamp, infer ---------------------------------------
    "meta-list": add(metadata=["a"]),
    "meta-str": add(metadata="topic=work"),
    "meta-int-key": add(metadata={1: "a"}),
    "meta-reserved": add(metadata={"user_id": "someone-else"}),
    "meta-deep-1000": add(metadata=deep(1_000)),
    "meta-deep-list-1000": add(metadata={"k": deep_list(1_000)}),
    "meta-deep-100000": add(metadata=deep(100_000)),
    "meta-nan": add(metadata={"x": math.nan}),
    "meta-inf": add(metadata={"x": -math.inf}),
    "meta-set": add(metadata={"x": {1, 2}}),
    "meta-bytes": add(metadata={"x": b"raw"}),
    "meta-object": add(metadata={"x": object()}),
    "meta-datetime": add(metadata={"x": datetime(2024, 1, 1)}),
    "meta-huge": add(metadata={"x": "y" * 1_000_000}),
    "meta-surrogate-deep": add(metadata={"a": [{"b": "\ud800"}]}),
    "sources-str": add(source_ids="turn-1"),
    "sources-int": add(source_ids=[1]),
    "sources-empty-string": add(source_ids=[""]),
    "sources-too-many": add(source_ids=[f"s{i}" for i in range(5_000)]),
    "sources-huge": add(source_ids=["s" * 100_000]),
    "ts-nan": add(timestamp=math.nan),
    "ts-inf": add(timestamp=math.inf),
    "ts-garbage": add(timestamp="yesterday-ish"),
    "ts-bad-month": add(timestamp="2024-13-01"),
    "ts-huge-int": add(timestamp=10**30),
    "ts-bool": add(timestamp=True),
    "ts-list": add(timestamp=["2024-01-01"]),
    "ts-surrogate": add(timestamp="2024-01-01\ud800"),
    "infer-str": add(infer="yes"),
    "infer-none": add(infer=None),
    "infer-int": add(infer=1),
    # -- add_many ---------------------------------------------------------------------------
    "many-str": many("Alice likes tea."),
    "many-dict": many({"text": "Alice likes tea."}),
    "many-ints": many([1, 2]),
    "many-no-text": many([{}]),
    "many-none-text": many([{"text": None}]),
    "many-bad-meta": many([{"text": "a b", "metadata": deep(500)}]),
    "many-one-bad-of-three": many(
        [{"text": "Dan likes tea."}, {"text": "\ud800"}, {"text": "Eve likes tea."}]
    ),
    "many-batch-zero": many([{"text": "Dan likes tea."}], batch_size=0),
    "many-batch-negative": many([{"text": "Dan likes tea."}], batch_size=-5),
    "many-batch-bool": many([{"text": "Dan likes tea."}], batch_size=True),
    # Refused before the first batch: it failed as a TypeError once one was written.
    "many-progress-not-callable": many([{"text": "Dan likes tea."}], progress="print"),
    "many-batch-huge": many([{"text": "Dan likes tea."}], batch_size=10**12),
    "many-batch-str": many([{"text": "Dan likes tea."}], batch_size="10"),
    "many-infer-str": many([{"text": "Dan likes tea."}], infer="no"),
    # -- add_triples --------------------------------------------------------------------------
    "triples-empty": triples([]),
    "triples-str": triples("Alice knows Bob"),
    "triples-dict": triples({"source": "a", "relation": "knows", "target": "b"}),
    "triples-pair": triples([("Alice", "knows")]),
    "triples-four": triples([("Alice", "knows", "Bob", "extra")]),
    "triples-none-target": triples([("Alice", "knows", None)]),
    "triples-empty-source": triples([("", "knows", "Bob")]),
    "triples-empty-relation": triples([("Alice", "", "Bob")]),
    "triples-relation-injection": triples([("Alice", "x}]->(b) DETACH DELETE b //", "Bob")]),
    "triples-relation-newline": triples([("Alice", "knows\nMATCH", "Bob")]),
    "triples-relation-huge": triples([("Alice", "r" * 10_000, "Bob")]),
    "triples-surrogate-relation": triples([("Alice", "kno\ud800ws", "Bob")]),
    "triples-huge-name": triples([("A" * 30_000, "knows", "Bob")]),
    "triples-dict-missing": triples([{"source": "Alice", "relation": "knows"}]),
    "triples-dict-misspelt-key": triples(
        [{"source": "Cy", "relation": "lives_in", "target": "Rome", "valid_from": "2020-01-01"}]
    ),
    "triples-dict-scope-key": triples(
        [{"source": "Cy", "relation": "lives_in", "target": "Rome", "user_id": OTHER}]
    ),
    "triples-dict-type-int": triples(
        [{"source": "Alice", "relation": "knows", "target": "Bob", "source_type": 5}]
    ),
    "triples-dict-type-huge": triples(
        [{"source": "Alice", "relation": "knows", "target": "Bob", "target_type": "t" * 100_000}]
    ),
    "triples-dict-type-surrogate": triples(
        [{"source": "Alice", "relation": "knows", "target": "Bob", "source_type": "\ud800"}]
    ),
    "triples-dict-bad-valid-at": triples(
        [{"source": "Alice", "relation": "knows", "target": "Bob", "valid_at": "someday"}]
    ),
    "triples-fact-int": triples([("Alice", "knows", "Bob")], fact=5),
    "triples-fact-empty": triples([("Alice", "knows", "Bob")], fact=" "),
    "triples-one-bad-of-two": triples([("Alice", "knows", "Bob"), ("Carol", "likes", None)]),
    # -- search ---------------------------------------------------------------------------
    "search-none": search(None),
    "search-int": search(42),
    "search-empty": search(""),
    "search-blank": search("   "),
    "search-huge": search("q" * 100_000),
    "search-surrogate": search("\ud800"),
    "search-list": search(["Alice"]),
    "search-limit-zero": search(limit=0),
    "search-limit-negative": search(limit=-1),
    "search-limit-huge": search(limit=10**9),
    "search-limit-bool": search(limit=True),
    "search-limit-float": search(limit=2.5),
    "search-limit-nan": search(limit=math.nan),
    "search-limit-str": search(limit="10"),
    "search-filters-str": search(filters="topic=work"),
    "search-filters-int-key": search(filters={1: "a"}),
    "search-filters-object": search(filters={"metadata.topic": object()}),
    "search-filters-nested": search(filters={"metadata": {"topic": "work"}}),
    "search-filters-empty-key": search(filters={"": "x"}),
    "search-filters-none-in-list": search(filters={"metadata.topic": [None]}),
    "search-filters-surrogate": search(filters={"metadata.topic": "\ud800"}),
    "search-recipe-unknown": search(recipe="quantum"),
    "search-recipe-int": search(recipe=3),
    "search-as-of-garbage": search(as_of="the day before"),
    "search-as-of-nan": search(as_of=math.nan),
    "search-include-invalid-str": search(include_invalid="yes"),
    "search-no-scope": search(user_id=None),
    # -- get / update / delete / history / get_all ------------------------------------------
    "get-none": lambda m: m.get(None, user_id=USER),
    "get-int": lambda m: m.get(7, user_id=USER),
    "get-empty": lambda m: m.get("", user_id=USER),
    "get-huge": lambda m: m.get("x" * 1_000_000, user_id=USER),
    "get-surrogate": lambda m: m.get("\ud800", user_id=USER),
    "get-missing": lambda m: m.get(MISSING, user_id=USER),
    "get-other-scope": lambda m: m.get(first_id(m), user_id=OTHER),
    "get-no-scope": lambda m: m.get(first_id(m)),
    "update-missing": lambda m: m.update(MISSING, "Alice likes coffee.", user_id=USER),
    "update-other-scope": lambda m: m.update(first_id(m), "Alice likes coffee.", user_id=OTHER),
    "update-empty": lambda m: m.update(first_id(m), "  ", user_id=USER),
    "update-none": lambda m: m.update(first_id(m), None, user_id=USER),
    "update-too-long": lambda m: m.update(first_id(m), "a" * 20_001, user_id=USER),
    "update-surrogate": lambda m: m.update(first_id(m), "Alice \ud800", user_id=USER),
    "update-id-int": lambda m: m.update(5, "Alice likes coffee.", user_id=USER),
    "delete-missing": lambda m: m.delete(MISSING, user_id=USER),
    "delete-other-scope": lambda m: m.delete(first_id(m), user_id=OTHER),
    "delete-none": lambda m: m.delete(None, user_id=USER),
    "delete-surrogate": lambda m: m.delete("\ud800", user_id=USER),
    "history-none": lambda m: m.history(None, user_id=USER),
    "history-int": lambda m: m.history(5, user_id=USER),
    "history-empty": lambda m: m.history("", user_id=USER),
    "history-surrogate": lambda m: m.history("\ud800", user_id=USER),
    "history-huge": lambda m: m.history("h" * 1_000_000, user_id=USER),
    "history-missing": lambda m: m.history(MISSING, user_id=USER),
    "history-other-scope": lambda m: m.history(first_id(m), user_id=OTHER),
    "get-all-limit-zero": lambda m: m.get_all(user_id=USER, limit=0),
    "get-all-limit-huge": lambda m: m.get_all(user_id=USER, limit=10**9),
    "get-all-limit-str": lambda m: m.get_all(user_id=USER, limit="5"),
    "get-all-offset-negative": lambda m: m.get_all(user_id=USER, offset=-1),
    "get-all-offset-float": lambda m: m.get_all(user_id=USER, offset=math.nan),
    "get-all-offset-bool": lambda m: m.get_all(user_id=USER, offset=True),
    "get-all-no-scope": lambda m: m.get_all(),
    # -- the graph API ----------------------------------------------------------------------
    "relations-unknown": lambda m: m.graph.relations("Nobody", user_id=USER),
    "relations-none": lambda m: m.graph.relations(None, user_id=USER),
    "relations-surrogate": lambda m: m.graph.relations("\ud800", user_id=USER),
    # A name past a URL's length: a Client raised httpx's InvalidURL, not a GraphMemError.
    "relations-huge": lambda m: m.graph.relations("E" * 100_000, user_id=USER),
    "paths-as-of-huge": lambda m: m.graph.paths("Alice", "Acme", as_of="2" * 70_000, user_id=USER),
    "paths-hops-zero": lambda m: m.graph.paths("Alice", "Acme", max_hops=0, user_id=USER),
    "paths-hops-huge": lambda m: m.graph.paths("Alice", "Acme", max_hops=100, user_id=USER),
    "paths-limit-zero": lambda m: m.graph.paths("Alice", "Acme", limit=0, user_id=USER),
    "paths-limit-bool": lambda m: m.graph.paths("Alice", "Acme", limit=True, user_id=USER),
    "neighbours-depth-huge": lambda m: m.graph.neighbours("Alice", depth=10**6, user_id=USER),
    "neighbours-depth-str": lambda m: m.graph.neighbours("Alice", depth="2", user_id=USER),
    "facts-about-unknown": lambda m: m.graph.facts_about("Nobody", user_id=USER),
    "subgraph-unknown": lambda m: m.graph.subgraph(["Nobody"], user_id=USER),
    "subgraph-entities-int": lambda m: m.graph.subgraph(-1, user_id=USER),
    "subgraph-entities-dict": lambda m: m.graph.subgraph({"Alice": 1}, user_id=USER),
    "entity-huge": lambda m: m.graph.entity("E" * 1_000_000, user_id=USER),
    "to-json-not-a-graph": lambda m: m.graph.to_json({"nodes": []}),
    "to-graphml-not-a-graph": lambda m: m.graph.to_graphml(7, "out.graphml"),
    "to-graphml-bad-path": lambda m: m.graph.to_graphml(
        m.graph.subgraph(["Alice"], user_id=USER), None
    ),
    "to-graphml-folder": lambda m: m.graph.to_graphml(
        m.graph.subgraph(["Alice"], user_id=USER), m.config.data_dir
    ),
    # -- whole-scope operations --------------------------------------------------------------
    "delete-all-no-scope": lambda m: m.delete_all(),
    "delete-all-blank-scope": lambda m: m.delete_all(user_id=" "),
    "delete-all-unknown-field": lambda m: m.delete_all(user="u"),
    "stats-no-scope": lambda m: m.stats(),
    "undo-merge-missing": lambda m: m.undo_merge(10**9, user_id=USER),
    "undo-merge-str": lambda m: m.undo_merge("1", user_id=USER),
    "undo-merge-none": lambda m: m.undo_merge(None, user_id=USER),
}


@pytest.mark.parametrize("call", REFUSED.values(), ids=REFUSED.keys())
def test_bad_input_is_a_graphmem_error_and_nothing_is_written(memory, stored, call):
    before = stored(memory)
    with pytest.raises(GraphMemError):
        call(memory)
    assert stored(memory) == before
    # The memory is still usable afterwards.
    assert memory.search("Alice", user_id=USER)


@pytest.mark.parametrize(("value", "said"), [
    (object(), "metadata.x: an object is not JSON"),
    ({1, 2}, "metadata.x: a set is not JSON"),
    (b"raw", "metadata.x: a bytes is not JSON"),
])  # fmt: skip
def test_a_metadata_value_that_is_not_json_is_named_by_path_and_kind(memory, stored, value, said):
    """It read "a object is not JSON": the article is chosen by the kind's first letter."""
    before = stored(memory)
    with pytest.raises(GraphMemError, match="^" + said):
        memory.add("Alice likes tea.", user_id=USER, metadata={"x": value})
    assert stored(memory) == before


ODD_BUT_VALID = {
    "nul-in-text": "Alice\x00 likes tea.",
    "escape-sequences": "Alice likes \x1b[31mred\x1b[0m tea.",
    "rtl-override": "Alice likes \u202eaet\u202c.",
    "zero-width": "Al\u200bice likes te\u200da.",
    "combining-marks": "Ali\u0301\u0301\u0301ce likes tea.",
    "emoji-family": "Alice likes \U0001f468\u200d\U0001f469\u200d\U0001f467 tea.",
    "astral-plane": "Alice likes \U0001d54b\U0001d556\U0001d552.",
    "noncharacter": "Alice likes tea \ufffe\uffff.",
    "private-use": "Alice likes \ue000 tea.",
    "bom": "\ufeffAlice likes tea.",
    "cypher-looking": "Alice'}) MATCH (n) DETACH DELETE n //",
    "only-punctuation": "?!.,;:",
    "right-to-left": "\u05d0\u05dc\u05d9\u05e1 \u05d0\u05d5\u05d4\u05d1\u05ea \u05ea\u05d4.",
}


@pytest.mark.parametrize("text", ODD_BUT_VALID.values(), ids=ODD_BUT_VALID.keys())
@pytest.mark.parametrize("infer", [True, False], ids=["infer", "raw"])
def test_odd_but_valid_text_is_stored_faithfully_or_refused_cleanly(memory, stored, text, infer):
    before = stored(memory)
    try:
        result = memory.add(text, user_id=USER, infer=infer)
    except GraphMemError:
        assert stored(memory) == before
        return
    for fact in result.facts:
        assert memory.get(fact.id, user_id=USER).text == fact.text
        assert memory.history(fact.id, user_id=USER)[0].new_value == fact.text
    memory.search(text, user_id=USER)  # reads still work with it stored
    for fact in result.facts:
        memory.delete(fact.id, user_id=USER)


def test_a_tracer_that_cannot_be_called_is_refused_before_anything_opens(tmp_path):
    from graphmem import ConfigError, Memory

    with pytest.raises(ConfigError, match="tracer"):
        Memory.open(tmp_path / "data", embedder="hash", tracer="print")
    assert list(tmp_path.iterdir()) == []
    with Memory.open(tmp_path / "data", embedder="hash") as m:  # nothing was left locked
        assert m.add("Alice likes tea.", user_id=USER).facts


@pytest.mark.parametrize(
    "data_dir",
    ["with\x00nul", "with\ud800surrogate", "with\udcffbyte", "", "n" * 300,
     "/" + "a" * 100 + "/" + "b" * 300],
    ids=["nul", "surrogate", "not-utf8-byte", "empty", "name-too-long", "inner-name-too-long"],
)  # fmt: skip
def test_unusable_data_dir_names_are_config_or_storage_errors(tmp_path, data_dir):
    from graphmem import Memory

    # "\udcff" is how Python holds the byte 0xff of a file name (surrogateescape): a name
    # Linux allows and the engines cannot open.
    # A name past the filesystem's 255 bytes raised OSError from a stat; one inside the
    # path did so once the directories before it were made.
    with pytest.raises(GraphMemError):
        Memory.open(str(tmp_path / "x") + data_dir if data_dir else data_dir, embedder="hash")
    assert list(tmp_path.iterdir()) == []  # refused before anything was made
