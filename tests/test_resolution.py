"""Entity resolution: exact and alias first, type-gated similarity, every merge undoable."""

from __future__ import annotations

import pytest

from graphmem import Memory, NotFoundError, ValidationError


@pytest.fixture
def mem(tmp_path):
    with Memory.open(tmp_path, embedder="hash", extractor="offline") as m:
        yield m


def entity_names(m, **scope):
    return sorted((e.name, e.type) for e in m.ops.all_entities(m_scope(**scope)))


def m_scope(**scope):
    from graphmem import Scope

    return Scope.of(**scope)


def test_types_keep_apple_company_and_apple_fruit_apart(mem):
    mem.add_triples(
        [
            {
                "source": "Tim",
                "relation": "works_at",
                "target": "Apple",
                "source_type": "person",
                "target_type": "organization",
            }
        ],
        user_id="u",
    )
    mem.add_triples([{"source": "Tim", "relation": "eats", "target": "apple",
                      "source_type": "person", "target_type": "object"}], user_id="u")  # fmt: skip
    assert entity_names(mem, user_id="u") == [
        ("Apple", "organization"), ("Tim", "person"), ("apple", "object"),
    ]  # fmt: skip


def test_case_and_declared_alias_merge_and_are_logged(mem):
    mem.add_triples([{"source": "Bob", "relation": "lives_in", "target": "Paris",
                      "source_type": "person", "target_type": "location"}], user_id="u")  # fmt: skip
    mem.add_triples([("bob", "likes", "chess")], user_id="u")
    # A new mention that declares an alias of a stored name resolves through it.
    result = mem.add("Robert plays the violin.", user_id="u", infer=False)
    mem.add_triples([{"source": "Robert", "relation": "plays", "target": "violin",
                      "source_type": "person", "target_type": "object"}], user_id="u")  # fmt: skip
    people = [e for e in mem.ops.all_entities(m_scope(user_id="u")) if e.type == "person"]
    assert result is not None
    assert len([p for p in people if p.name in ("Bob", "bob")]) == 1
    merges = [e for e in mem.history_store.events(m_scope(user_id="u")) if e.event == "MERGE"]
    assert merges and merges[0].details["method"] == "alias"
    assert merges[0].details["mention"] == "bob"


def test_alias_declared_by_extraction_merges(mem):
    from graphmem.ingest.pipeline import Unit
    from graphmem.ingest.validate import Message
    from graphmem.models import ExtractedEntity, ExtractedFact, ExtractedRelation, Extraction

    mem.add_triples([{"source": "Robert", "relation": "lives_in", "target": "Paris",
                      "source_type": "person", "target_type": "location"}], user_id="u")  # fmt: skip
    ex = Extraction([ExtractedFact("Bob likes chess.")],
                    [ExtractedEntity("Bob", "person", ["Robert"]), ExtractedEntity("chess", "concept")],
                    [ExtractedRelation("Bob", "likes", "chess", 0)])  # fmt: skip
    mem._write(
        [Unit([Message("user", "Bob likes chess.")])], [ex], m_scope(user_id="u"), True, None
    )
    robert = [e for e in mem.ops.all_entities(m_scope(user_id="u")) if e.type == "person"]
    assert len(robert) == 1 and "Bob" in robert[0].aliases
    rels = mem.ops.relations_touching([robert[0].id], m_scope(user_id="u"))
    assert sorted(r.key for r in rels) == ["likes", "lives_in"]


def test_merge_can_be_undone(mem):
    mem.add_triples([{"source": "Bob", "relation": "lives_in", "target": "Paris",
                      "source_type": "person", "target_type": "location"}], user_id="u")  # fmt: skip
    mem.add_triples([{"source": "bob", "relation": "likes", "target": "chess",
                      "source_type": "person", "target_type": "concept"}], user_id="u")  # fmt: skip
    scope = m_scope(user_id="u")
    merge = next(e for e in mem.history_store.events(scope) if e.event == "MERGE")
    split = mem.undo_merge(merge.id, user_id="u")
    assert split.name == "bob"
    people = {e.name: e for e in mem.ops.all_entities(scope) if e.type == "person"}
    assert set(people) == {"Bob", "bob"}
    assert "bob" not in people["Bob"].aliases
    likes = mem.ops.relations_touching([people["bob"].id], scope)
    assert [(r.source_name, r.key, r.target_name) for r in likes] == [("bob", "likes", "chess")]
    lives = mem.ops.relations_touching([people["Bob"].id], scope)
    assert [(r.source_name, r.key) for r in lives] == [("Bob", "lives_in")]
    assert any(e.event == "UNMERGE" for e in mem.history_store.events(scope))


def test_undoing_a_merge_from_a_batch_moves_only_the_facts_that_used_that_name(mem):
    """A MERGE recorded every fact of its write, so undoing one made in ``add_many``
    linked the other items' facts to the split entity, and took from the stored entity
    the facts that named it by its own name."""
    scope = m_scope(user_id="u")
    mem.add("Emil Cyril Lindqvist lives in Oslo.", user_id="u", infer=False)
    added = mem.add_many([{"text": "Cyril Emil Lindqvist works at Nordbank."},
                          {"text": "Maria Svensson plays tennis in Bergen."},
                          {"text": "Emil Cyril Lindqvist likes chess."}], user_id="u")  # fmt: skip
    swapped = added.facts[0].id
    merge = next(e for e in mem.history_store.events(scope) if e.event == "MERGE")
    assert merge.old_value == "Cyril Emil Lindqvist"
    assert merge.details["fact_ids"] == [swapped]
    split = mem.undo_merge(merge.id, user_id="u")

    def told(name):
        entity = next(e for e in mem.ops.all_entities(scope) if e.name == name)
        facts = mem.ops.facts_mentioning([entity.id], scope)
        rels = mem.ops.relations_touching([entity.id], scope)
        return sorted(f.text for _, f in facts), sorted(r.name for r in rels)

    assert told(split.name) == (["Cyril Emil Lindqvist works at Nordbank."], ["works_at"])
    assert told("Emil Cyril Lindqvist") == (
        ["Emil Cyril Lindqvist likes chess.", "Emil Cyril Lindqvist lives in Oslo."],
        ["likes", "lives_in"],
    )
    assert not any(mem.verify().drift.values())


@pytest.mark.parametrize("bad", [1.0, "1", True, 0, -5, 2**70, None])
def test_an_event_id_that_is_no_positive_integer_is_named(mem, bad):
    """1.0 was looked up as 1, and "1" or 2**70 said no such event existed."""
    with pytest.raises(ValidationError) as info:
        mem.undo_merge(bad, user_id="u")
    assert info.value.field == "event_id" and "positive integer" in str(info.value)


def test_a_merge_of_another_scope_or_no_merge_cannot_be_undone(mem):
    mem.add_triples([("Bob", "likes", "chess")], user_id="u")
    mem.add_triples([("bob", "likes", "tea")], user_id="u")
    events = mem.history_store.events(m_scope(user_id="u"))
    merge = next(e for e in events if e.event == "MERGE")
    with pytest.raises(NotFoundError):
        mem.undo_merge(merge.id, user_id="someone-else")
    with pytest.raises(NotFoundError):
        mem.undo_merge(events[-1].id + 1000, user_id="u")
    with pytest.raises(ValidationError, match="not an entity MERGE"):
        mem.undo_merge(next(e for e in events if e.event == "ADD").id, user_id="u")
    assert mem.undo_merge(merge.id, user_id="u").name == "bob"


def test_resolution_is_scoped(mem):
    mem.add_triples([("Bob", "likes", "tea")], user_id="u1")
    mem.add_triples([("Bob", "likes", "coffee")], user_id="u2")
    assert [e.name for e in mem.ops.all_entities(m_scope(user_id="u1"))] == ["Bob", "tea"]
    assert not [e for e in mem.history_store.events() if e.event == "MERGE"]


# A small labelled set: (stored name, type) then (new mention, type, should merge?).
LABELLED = [
    (("Bob", "person"), ("bob", "person"), True),
    (("Acme Corp", "organization"), ("acme corp", "organization"), True),
    (("Paris", "location"), ("PARIS", "location"), True),
    (("Zoë", "person"), ("zoë", "person"), True),
    (("New York", "location"), ("new  york", "location"), True),
    (("Apple", "organization"), ("apple", "object"), False),
    (("Jordan", "person"), ("Jordan", "location"), False),
    (("Paris", "location"), ("Paris Hilton", "person"), False),
    (("Bob", "person"), ("Rob", "person"), False),
    (("Acme", "organization"), ("Acme Labs", "organization"), False),
    (("Washington", "location"), ("Washington", "person"), False),
    (("Anna", "person"), ("Hanna", "person"), False),
]


def test_merge_precision_and_recall_on_labelled_set(tmp_path, record_property):
    tp = fp = fn = 0
    with Memory.open(tmp_path, embedder="hash") as m:
        for i, ((name, kind), (mention, mkind), should) in enumerate(LABELLED):
            user = f"case{i}"
            m.add_triples([{"source": name, "relation": "is", "target": "x", "source_type": kind}],
                          user_id=user)  # fmt: skip
            m.add_triples([{"source": mention, "relation": "is", "target": "y",
                            "source_type": mkind}], user_id=user)  # fmt: skip
            names = [e.name for e in m.ops.all_entities(m_scope(user_id=user))]
            merged = mention not in names or mention == name and names.count(name) == 1
            tp += merged and should
            fp += merged and not should
            fn += should and not merged
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    record_property("merge_precision", precision)
    record_property("merge_recall", recall)
    print(
        f"entity resolution on {len(LABELLED)} labelled pairs: precision={precision:.2f} recall={recall:.2f}"
    )
    assert precision == 1.0
    assert recall == 1.0


def test_move_to_a_stored_place_supersedes_in_a_crowded_scope(mem):
    # More people than the extractor is shown as known entities, all named before the
    # places: "moved from Qarvik" no longer tells the extractor that Qarvik is a place.
    given = "Abel Ada Alma Amos Anja Arne Asta Axel Ayla Aldo Alva Anke Arlo Aino Aron".split()
    family = "Abbott Acker Adler Ahmed Alder Allen Amato Ames Arndt Ash Auer Avery Bauer Berg "
    family = (family + "Baker Barr Bell Bishop Blake Bloom").split()
    crowd = [{"text": f"{a} {b} enjoys chess.", "timestamp": "2024-01-01"}
             for a in given for b in family]  # fmt: skip
    mem.add_many(crowd, user_id="u")
    mem.add_many([{"text": "Zoe Quist lives in Qarvik.", "timestamp": "2024-02-01"},
                  {"text": "Yann Quist lives in Tolmere.", "timestamp": "2024-02-01"}],
                 user_id="u")  # fmt: skip
    mem.add("Zoe Quist moved from Qarvik to Tolmere.", user_id="u", timestamp="2024-06-01")
    lives = [r.target_name for r in mem.graph.relations("Zoe Quist", user_id="u")
             if r.key == "lives_in"]  # fmt: skip
    assert lives == ["Tolmere"]
    texts = [h.text for h in mem.search("Where does Zoe Quist live?", user_id="u", limit=5)]
    assert "Zoe Quist lives in Qarvik." not in texts
    assert "Zoe Quist moved from Qarvik to Tolmere." in texts


def test_batched_similarity_search_resolves_as_one_search_per_name(tmp_path):
    """The resolver's one ``search_many`` per batch gives the merges one search per name did."""
    first = [("Alice Smith", "knows", "Bob Stone"), ("Bob Stone", "lives_in", "Paris")]
    # One batch: two reordered stored names (similarity merges) and two new names that
    # match only each other: neither is stored yet, so in both paths they stay apart.
    second = [("Smith Alice", "knows", "Stone Bob"), ("Carol Jones", "knows", "Jones Carol")]
    outcomes = []
    for batched in (True, False):
        with Memory.open(tmp_path / str(batched), embedder="hash", extractor="offline") as m:
            if not batched:  # the store itself has no search_many: one search per name
                m.resolver.vectors = m.resolver.vectors.inner
            m.add_triples(first, user_id="u")
            m.add_triples(second, user_id="u")
            merges = [(e.old_value, e.new_value, e.details["method"], e.details["score"])
                      for e in m.history_store.events(m_scope(user_id="u")) if e.event == "MERGE"]  # fmt: skip
            outcomes.append((entity_names(m, user_id="u"), merges))
    (names, merges), (names_one, merges_one) = outcomes
    assert names == names_one
    # The same merges; scores as each path reads them (in-process vectors are float16).
    assert [m[:3] for m in merges] == [m[:3] for m in merges_one]
    assert [m[3] for m in merges] == pytest.approx([m[3] for m in merges_one], abs=1e-3)
    assert all(m[3] <= 1.0 for m in merges)  # a cosine, not a rounding past it
    assert {(old, new, method) for old, new, method, _ in merges} == {
        ("Smith Alice", "Alice Smith", "embedding"), ("Stone Bob", "Bob Stone", "embedding"),
    }  # fmt: skip
    assert [n for n, _ in names if "Carol" in n] == ["Carol Jones", "Jones Carol"]


def test_names_without_letters_or_digits_are_never_merged_by_their_vectors(mem):
    """The hashing embedder gives every text without a word one direction, so "?!", "..."
    and an emoji each became an alias of the first such name: their relations all hung
    on one entity. They are matched only exactly now, and no name is absorbed into one."""
    names = ["?!", "...", "😀🎉", "\u0301"]
    for name in names:
        mem.add_triples([(name, "knows", "Bob")], user_id="u")
    mem.add_triples([("?!", "likes", "Bob")], user_id="u")  # the same name: one entity
    assert entity_names(mem, user_id="u") == sorted((n, "other") for n in [*names, "Bob"])
    for name in names:
        entity = mem.graph.entity(name, user_id="u")
        assert (entity.name, entity.aliases) == (name, [])
        out = mem.graph.relations(name, direction="out", user_id="u")
        assert {(r.source_name, r.target_name) for r in out} == {(name, "Bob")}
    assert len(mem.graph.relations("?!", direction="out", user_id="u")) == 2
