"""What the offline extractor's rules found, and the ties whose parts a rule's groups give.

``Found`` is one relation a rule matched, before its names are registered; ``kin``,
``pets`` and ``pair`` read family, pet and "X and Y are friends" matches
(``several_pets``: whether a pet word is a plural); ``owned`` reads
a possessive as the name it starts ("works at McDonald's").
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
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


# A pet said to have died: "my dog Rex passed away" (the pet said before), "we lost our
# cat Luna", "had to put down our dog Max" (after), "put our cat Tom down" (around). Close
# by only, and in the same clause: "My dog Rex is fine and my cat died" ends no Rex.
_DIED_AFTER = re.compile(r"(?<!almost )(?<!nearly )\b(?:passed\s+away|passed\s+on|died|"
                         r"crossed\s+the\s+rainbow\s+bridge)\b")  # fmt: skip
_DIED_BEFORE = re.compile(r"\b(?:lost|put\s+down|buried)\s+(?:our|my|his|her|their)\b")
_PUT_DOWN = re.compile(r"\bput\s+(?:our|my|his|her|their)\s[^.!?,]{0,40}?\bdown\b")
_CLAUSE_BREAK = re.compile(r"\b(?:and|but|while|because)\b|[;:]")
_NEAR = 30  # characters between the pet's name and the words


def died(found: list[Found], lowered: str) -> list[Found]:
    """``found`` with the pet relations of a pet the sentence says died marked as ended.
    Pets are looked up by position (a sentence of 1,000 pets and deaths stays linear);
    mentions do not overlap, so their starts and their ends sort alike."""
    spans = sorted({(f.target.start, f.target.end) for f in found
                    if f.relation == "pet" and f.target.end > f.target.start})  # fmt: skip
    if not spans:
        return found
    starts = [start for start, _ in spans]
    ends = [end for _, end in spans]
    gone: set[int] = set()  # where the pets that died start
    for m in _DIED_AFTER.finditer(lowered):  # the nearest pet before
        i = bisect_right(ends, m.start()) - 1
        if (i >= 0 and m.start() - ends[i] <= _NEAR
                and not _CLAUSE_BREAK.search(lowered, ends[i], m.start())):  # fmt: skip
            gone.add(starts[i])
    for m in _DIED_BEFORE.finditer(lowered):  # the nearest pet after
        i = bisect_left(starts, m.end())
        if (i < len(starts) and starts[i] - m.end() <= _NEAR
                and not _CLAUSE_BREAK.search(lowered, m.end(), starts[i])):  # fmt: skip
            gone.add(starts[i])
    for m in _PUT_DOWN.finditer(lowered):  # the pet inside
        gone.update(starts[bisect_left(starts, m.start()) : bisect_left(starts, m.end())])
    if not gone:
        return found
    return [replace(f, ends=True) if f.relation == "pet" and f.target.start in gone else f
            for f in found]  # fmt: skip
