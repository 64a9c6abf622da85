"""Pets named after they are brought in: "I got a puppy last week! Her name's Coco."

The rule table (``offline_patterns``) reads a pet and its name said together ("my dog
Rex", "a cat named Tom"). Chats more often bring the animal in first and name it in the
next clause or sentence: "We adopted two kittens. Their names are Luna and Max", "I just
got a new dog, his name is Rex", "My daughter got a kitten. We named him Oliver."

``PetNames`` keeps the last pet brought in without a name for the two sentences after
it, and reads a naming clause against it. The pronoun of the naming clause ("her",
"him") may have been stood in for a person by ``offline_pronouns``; it counts as a
pronoun when the text it replaced is one, so "Her name's Coco" after "Ann got a puppy"
still names the puppy, not Ann. A name said of a person ("Ann's name is ...") is not
read here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .offline_mentions import Mention
from .offline_patterns import ENTITY, PLACEHOLDER, expand
from .offline_words import PET_PLURALS, PET_WORDS

# "I got a puppy", "Ann adopted two kittens", "we brought home a new rescue dog". Not
# when a name follows ("a dog named Rex" is the rule table's).
_INTRO = re.compile(expand(
    r"<PRE>\s+(?:has|have|had|got|get|gets|adopted|adopt|adopts|rescued|bought|welcomed|"
    r"brought\s+home|took\s+in)\s+(?:(?:an?|another|some|our|my|his|her|their|<E>'s)\s+|"
    r"(?=(?:two|three|four)\s))<PET>"
    r"(?![\w'-])(?!\s*,?\s*(?:named|called)\b)"
))  # fmt: skip
_PRONOUN = rf"(?:her|his|its|their|him|them|it|she|he|they|(?P<{{}}>{ENTITY}))"
# "her name's Coco", "their names are Luna and Max", "we named him Oliver", "we call
# her Pixie", "she's called Bea".
_NAMING = re.compile(expand(
    r"(?<![\w'-])(?:" + _PRONOUN.format("s") + r"(?:'s)?\s+names?(?:'s|\s+(?:is|was|are|were))"
    r"|(?:<E>|we|i)\s+(?:named|call|called)\s+" + _PRONOUN.format("o") +
    r"|" + _PRONOUN.format("t") + r"(?:'s|\s+(?:is|was|are|were))\s+(?:named|called))"
    r"\s+<X>"
))  # fmt: skip
_PRONOUNS = frozenset("her his its their him them it she he they".split())
_PET_TOKENS = frozenset(PET_WORDS) | {f"{w}s" for w in PET_WORDS} | {f"{w}es" for w in PET_WORDS}
_KEEP = 3  # sentences a nameless pet waits for its name: its own and the two after it


class PetNames:
    """The one extract call's pet brought in without a name, and its naming."""

    def __init__(self) -> None:
        self.owner: Mention | None = None
        self.plural = False
        self.left = 0

    def read(
        self, template: str, work: str, low: Sequence[str], mentions: Sequence[Mention]
    ) -> list[tuple[Mention, list[Mention]]]:
        """(owner, pets) named in this sentence's ``template``; notes a nameless pet."""
        named: list[tuple[Mention, list[Mention]]] = []
        intro_end = 0
        if not _PET_TOKENS.isdisjoint(low) and (intro := _INTRO.search(template)):
            owners = [mentions[int(i)] for i in PLACEHOLDER.findall(intro.group("a"))]
            if owners and not owners[0].objective:
                plural = bool(intro.group("pl")) or intro.group("k") in PET_PLURALS
                self.owner, self.plural, self.left = owners[0], plural, _KEEP
                intro_end = intro.end()
        if self.owner is not None and self.left > 0:
            naming = _NAMING.search(template, intro_end)
            if naming is not None and _pronouns_only(naming, work, mentions):
                pets = [mentions[int(i)] for i in PLACEHOLDER.findall(naming.group("x"))]
                pets = [p for p in pets if p.kind not in ("speaker", "concept")]
                if pets:
                    named.append((self.owner, pets if self.plural else pets[:1]))
                    self.owner = None
        self.left -= 1
        return named


def _pronouns_only(match: re.Match[str], work: str, mentions: Sequence[Mention]) -> bool:
    """The naming clause's pronoun is a pronoun in the text, stood in for or not."""
    for group in ("s", "o", "t"):
        if match.group(group):
            mention = mentions[int(PLACEHOLDER.findall(match.group(group))[0])]
            if work[mention.start : mention.end].lower() not in _PRONOUNS:
                return False
    return True
