"""Pets named after they are brought in: "I got a puppy last week! Her name's Coco."

The rule table (``offline_rules``) reads a pet and its name said together ("my dog
Rex", "a cat named Tom"). Chats more often bring the animal in first and name it in the
next clause or sentence: "We adopted two kittens. Their names are Luna and Max", "I just
got a new dog, his name is Rex", "My daughter got a kitten. We named him Oliver."

``PetNames`` keeps the last pet brought in without a name for the two sentences after
it, and reads a naming clause against it. In a conversation it waits two turns, for the
name its owner gives when asked ("What's her name?" / "Her name is Shadow!"), and "your
pup" in a turn makes whoever speaks next its owner. So does a question about one's pets,
whose answer may name them with no verb ("Do you have any pets?" / "Yes, two cats,
Mochi and Pixel"). The pronoun of the naming clause
("her", "him") may have been stood in for a person by ``offline_pronouns``; it counts as
a pronoun when the text it replaced is one, so "Her name's Coco" after "Ann got a puppy"
still names the puppy, not Ann. A name said of a person ("Ann's name is ...") is not
read here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from .offline_mentions import Mention
from .offline_patterns import ENTITY, PLACEHOLDER, expand
from .offline_ties import several_pets
from .offline_words import PET_WORDS

# "I got a puppy", "Ann adopted two kittens", "I adopted this cute pup". Not
# when a name follows ("a dog named Rex" is the rule table's).
_INTRO = re.compile(expand(
    r"<PRE>\s+(?:has|have|had|got|get|gets|adopted|adopt|adopts|rescued|bought|welcomed|"
    r"brought\s+home|took\s+in)\s+(?:(?:an?|another|this|some|our|my|his|her|their|<E>'s)\s+"
    r"(?:[a-z]+\s+)??|(?=(?:two|three|four)\s))<PET>"
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
# "Your pup is so cute! What's her name?": the pet is the one spoken to's.
_YOURS = re.compile(
    r"\byour\s+(?:(?:new|little|cute|sweet|other)\s+)?(?:"
    + "|".join(sorted(_PET_TOKENS, key=len, reverse=True))
    + r")\b"
)
# "Do you have any pets?", "Got any pets?", "Do you have a dog?": the answer's animals are
# the one asked's, said with no verb ("Yes, two cats, Mochi and Pixel").
_ASKED = re.compile(
    r"\b(?:(?:do|did)\s+you\s+(?:have|own)|(?:have|got)\s+you\s+got|you\s+got|got)\s+"
    r"(?:any\s+)?(?:pets?|an?\s+(?:" + "|".join(sorted(PET_WORDS, key=len, reverse=True)) + r"))\b"
)
_ANSWER = re.compile(expand(
    r"^\s*(?:(?:yes|yeah|yep|yup|sure|i\s+do|we\s+do)\b[\s,!.]*)?(?:an?|one|two|three|four|"
    r"five)\s+(?:[a-z]+\s+)?<PET>\s*(?:[,:]\s*|\s+(?:named|called)\s+)<X>"
))  # fmt: skip
_KEEP = 3  # sentences a nameless pet waits for its name: its own and the two after it
_TURNS = 2  # ... or, in a conversation, the next two turns' first three sentences each


class PetNames:
    """A pet brought in without a name, and its naming: within one text, or carried from
    turn to turn of a conversation with ``offline_pronouns.Antecedents`` ("I just adopted
    a pup!" / "Aww, what's her name?" / "Her name is Shadow!")."""

    def __init__(self) -> None:
        self.owner: Mention | None = None
        self.yours = False  # the owner is whoever speaks next
        self.asked = False  # ... asked whether they have pets: the answer may name them
        self.asker = ""  # who asked: never the one who answers
        self.plural = False
        self.left = 0  # sentences left in this text
        self.turns = 0  # texts left after this one
        self.speaker = self.by = ""  # who speaks now; who brought the pet in

    def begin(self, speaker: str) -> None:
        """A new text (a turn) by ``speaker`` starts. Only whoever brought the pet in, or
        was asked about it, names it there: "I got a puppy!" / "I met a girl. Her name is
        Sue" is someone else's news."""
        self.speaker = speaker
        if self.turns <= 0:
            self.owner, self.yours, self.left, self.asked = None, False, 0, False
            return
        self.turns -= 1
        if self.yours and speaker and not (self.asked and speaker == self.asker):
            self.owner, self.yours, self.by = Mention(0, 0, speaker, "speaker"), False, speaker
        elif self.owner is not None:  # named in a text before this one: no place in it
            self.owner = replace(self.owner, start=0, end=0, possessive=False)
        self.left = _KEEP if speaker == self.by else 0

    def heard(self, lowered: str) -> None:
        """Any sentence, a question too: "your pup" makes the next speaker its owner."""
        if "your" in lowered and _YOURS.search(lowered):  # most sentences: one scan
            self.owner, self.yours, self.plural = None, True, False
            self.left, self.turns, self.asked = 0, _TURNS, False
        elif "?" in lowered and _ASKED.search(lowered):
            self.owner, self.yours, self.plural = None, True, True
            self.left, self.turns, self.asked, self.asker = 0, _TURNS, True, self.speaker

    def read(
        self, template: str, work: str, low: Sequence[str], mentions: Sequence[Mention]
    ) -> list[tuple[Mention, list[Mention]]]:
        """(owner, pets) named in this sentence's ``template``; notes a nameless pet."""
        named: list[tuple[Mention, list[Mention]]] = []
        intro_end = 0
        if not _PET_TOKENS.isdisjoint(low) and (intro := _INTRO.search(template)):
            owners = [mentions[int(i)] for i in PLACEHOLDER.findall(intro.group("a"))]
            if owners and not owners[0].objective:
                self.owner, self.yours = owners[0], False
                self.plural = several_pets(intro.groupdict())
                self.left, self.turns, self.by = _KEEP, _TURNS, self.speaker
                intro_end = intro.end()
        if self.asked and self.owner is not None and self.left > 0:
            answer = _ANSWER.match(template)
            pets = (
                [mentions[int(i)] for i in PLACEHOLDER.findall(answer.group("x"))] if answer else []
            )
            pets = [p for p in pets if p.kind not in ("speaker", "concept")]
            if pets:
                named.append((self.owner, pets))
                self.owner, self.turns, self.asked = None, 0, False
        if self.owner is not None and self.left > 0:
            naming = _NAMING.search(template, intro_end)
            if naming is not None and _pronouns_only(naming, work, mentions):
                pets = [mentions[int(i)] for i in PLACEHOLDER.findall(naming.group("x"))]
                pets = [p for p in pets if p.kind not in ("speaker", "concept")]
                if pets:
                    several = self.plural or "names" in naming.group(0)  # "their names are"
                    named.append((self.owner, pets if several else pets[:1]))
                    self.owner, self.turns = None, 0
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
