"""An extractor of the user's own (any object with ``extract``) is held to graphmem's
limits: output it cannot store is refused whole, with the field named, before any store
is touched."""

from __future__ import annotations

import pytest

from graphmem import ExtractionError, Memory
from graphmem.models import ExtractedEntity, ExtractedFact, ExtractedRelation, Extraction

U = "custom"


class Fixed:
    """Returns one fact and one relation, the relation's name as given."""

    name = "fixed"

    def __init__(self, relation: object) -> None:
        self.relation = relation

    def extract(self, text, speaker="user", known=(), reference_time=""):
        return Extraction(
            facts=[ExtractedFact(text)],
            entities=[ExtractedEntity("Alice", "person"), ExtractedEntity("Acme", "org")],
            relations=[ExtractedRelation("Alice", self.relation, "Acme")],
        )


@pytest.mark.parametrize(
    "relation",
    [123, None, ["works_at"], "x" * 30_000],
    ids=["int", "none", "list", "over-max-text-chars"],
)
def test_a_relation_name_that_is_no_string_is_refused_by_name(tmp_path, relation):
    with Memory.open(tmp_path, embedder="hash", extractor=Fixed(relation)) as memory:
        with pytest.raises(ExtractionError, match=r"relations\[0\]\.relation"):
            memory.add("Alice works at Acme.", user_id=U)
        assert memory.get_all(user_id=U) == []
        assert memory.stats(user_id=U)["entities"] == 0


def test_a_relation_the_extractor_names_is_stored(tmp_path):
    with Memory.open(tmp_path, embedder="hash", extractor=Fixed("works_at")) as memory:
        memory.add("Alice works at Acme.", user_id=U)
        (relation,) = memory.graph.relations("Alice", user_id=U)
        assert (relation.name, relation.target_name) == ("works_at", "Acme")
