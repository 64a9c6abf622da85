"""What the offline extractor's rules found, and the ties whose parts a rule's groups give.

``Found`` is one relation a rule matched, before its names are registered; ``kin``,
``pets`` and ``pair`` read family, pet and "X and Y are friends" matches
(``several_pets``: whether a pet word is a plural); ``owned`` reads
a possessive as the name it starts ("works at McDonald's").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from ..models import name_key
from . import offline_words as words
from .offline_mentions import Mention
from .offline_patterns import kin_relation


@dataclass
class Found:
    relation: str  # a relation name or an "@" handler resolved in ``_finish``
    source: Mention
    target: Mention
    source_type: str = ""
    target_type: str = ""
    via: Mention | None = None  # "moved from <via> to <target>"
    ends: bool = False  # the date stated is the relation's end ("retired from X in 2019")


def owned(mention: Mention, institution: str) -> Mention:
    """A possessive mention read as the name it starts: "McDonald" -> "McDonald's"."""
    if institution:
        institution = " " + institution.capitalize()
    name = f"{mention.name}'s{institution}"
    return replace(mention, name=name, kind="name", known_type="")


def kin(groups, relatives: list[Mention], owners: list[Mention], before: bool) -> list[Found]:
    if not groups.get("pl"):  # singular: the name next to the kin word
        relatives = relatives[-1:] if before else relatives[:1]
    relation = kin_relation(groups["k"])
    owner = owners[0]
    return [Found(relation, owner, r, "person", "person")
            for r in relatives if name_key(r.name) != name_key(owner.name)]  # fmt: skip


def several_pets(groups: Mapping[str, str | None]) -> bool:
    """Whether a ``<PET>`` match names more than one: "cats", "puppies"."""
    return bool(groups.get("pl")) or groups.get("k") in words.PET_PLURALS


def pets(animals: list[Mention], owners: list[Mention], every: bool) -> list[Found]:
    """The owner's pets: one (the name next to the word), or ``every`` one named after
    a plural ("my cats Luna and Max")."""
    if not owners:
        return []
    if not every:
        animals = animals[:1]
    owner = owners[0]
    key = name_key(owner.name)
    return [Found("pet", owner, p, "person", "other") for p in animals
            if p.kind not in ("speaker", "concept") and name_key(p.name) != key]  # fmt: skip


def pair(groups, first: Mention, second: Mention) -> list[Found]:
    relation = words.PAIR_WORDS[groups["k"]]
    if groups.get("best") and relation == "friend":
        relation = "best_friend"
    if second.kind == "speaker":  # "Alice and I are friends": speaker first, as "my friend"
        first, second = second, first
    if name_key(first.name) == name_key(second.name):
        return []
    return [Found(relation, first, second, "person", "person")]


def age(groups: Mapping[str, str | None], subjects: list[Mention]) -> list[Found]:
    """ "I'm 32 years old", "Ann just turned 5": the number, for an age a person may have."""
    years = int(groups["n"] or 0)
    if not 1 <= years <= 120:
        return []
    return [Found("age", s, Mention(0, 0, str(years), "concept")) for s in subjects]
