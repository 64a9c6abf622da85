"""He, she, his and her: the one person a message has just named.

Chat text names someone once and goes on with a pronoun: "My sister Ann moved to Boston.
She works at Google now." Read a sentence at a time, the second had no subject, and Ann's
employer was lost. ``Antecedents`` follows a message sentence by sentence (and the turns
of one conversation, message by message), and stands a person in for a pronoun only
where one person fits:

- "he" / "she" as a subject, and "his" / "her" right before a tie word ("her husband
  Tom"). "Her" elsewhere is as often an object, and "him" always is one.
- The people are those of the last sentence that spoke of anyone. A sentence that speaks
  of no one leaves them as they were ("Ann moved. I helped. She loves it there.").
- A person is a name typed as one: a given name, a known person, a tie ("my sister
  Ann"), and neither the one spoken to ("That's great, John! He ..." is not John) nor
  the one speaking ("James: Yeah, he loves it!"). A common given name or a tie word
  says which pronoun fits ("Tom", "sister"); other names fit either.
- Someone spoken of but not named ("I told my mom about Ann", "the doctor") makes the
  next pronoun ambiguous, as do two people who both fit it ("Alice and Bob married. She
  ..."): such a pronoun stands for no one. So does one in a sentence that speaks of a
  person before it ("Ann told Mia she ...", "The doctor said she ..."), who may be meant.

Precision over recall, as in the rest of the offline extractor: a pronoun left unread
costs a relation; a wrong one puts a job or a home on the wrong person.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..models import name_key
from .offline_answers import AskedAbout
from .offline_mentions import Mention, Sentence
from .offline_pets import PetNames
from .offline_words import KIN_MODIFIERS, KIN_WORDS

_TIES = "|".join(re.escape(w) for w in sorted(KIN_WORDS, key=len, reverse=True))
_MODS = "|".join(sorted(KIN_MODIFIERS, key=len, reverse=True))
_TIE = rf"(?:(?:{_MODS})[\s-]+){{0,2}}(?:{_TIES})(?:s|es)?(?:['’]s)?(?![\w'’-])"
_PRONOUN = re.compile(rf"\b(?:(?P<s>she|he)(?![\w-])|(?P<p>his|her)(?=\s+{_TIE}))", re.I)
# Pronouns stood in for in one sentence. Each reads the sentence before it, so 20,000
# characters of "she said he" (3,333 pronouns, no full stop) took 49 s; prose has a few.
_MOST_PRONOUNS = 64
# Someone spoken of: a tie word, or a noun for a person. Named when a name stands right
# after it ("my sister Ann", "my boss, Karen") or before it ("Ann, my sister").
_PERSON_NOUN = re.compile(
    rf"\b(?:{_TIE}|(?:guy|man|woman|girl|boy|lady|person|someone|somebody|people)"
    rf"(?:['’]s)?(?![\w'’-]))",
    re.I,
)
# Who is spoken to, not of: "That's great, John!", "Hey Mel, how are you?", "Thanks,
# Caroline!", "John, you should come". A chat names its listener all the time, and a
# "he" after it is someone else.
_GREETING = re.compile(
    r"\b(?:hey|hi|hello|thanks|thank\s+you|dear|congrats|congratulations|yo|bye|morning)$",
    re.I,
)
_ADDRESSED = re.compile(r"\s*,\s*(?:you|your|u)\b", re.I)
_TIE_BEFORE = re.compile(rf"\b{_TIE}\s*$", re.I)


def addressed(work: str, mention: Mention) -> bool:
    """Whether ``mention`` is the person a sentence speaks to (a vocative), or the one
    who speaks it (a transcript's "Name:" label)."""
    after, before = work[mention.end :].lstrip(), work[: mention.start].rstrip()
    if before.endswith(","):  # "That's great, John!"; "Ann, Tom, and I" is a list
        # "... with my boss, Karen." names the boss: an apposition, not a call.
        return after.strip(" .!?") == "" and not _TIE_BEFORE.search(before[:-1])
    if _GREETING.search(before):  # "Hey Mel, ...", "Thanks Caroline!"
        return after[:1] in (",", "!", "?", ".", "")
    if not before:  # "John! ...", "John, you ..."; "Ann, my sister, ..." is about Ann
        # "James: Yeah, he loves it!" is a transcript's line: James is who speaks, and
        # the "he" is someone else.
        return after[:1] in ("!", "?", ":") or bool(_ADDRESSED.match(work, mention.end))
    return False


_SHE = frozenset(
    "mother sister daughter wife girlfriend fiancee aunt niece grandmother granddaughter "
    "stepmother stepdaughter stepsister".split()
)
_HE = frozenset(
    "father brother son husband boyfriend fiance uncle nephew grandfather grandson "
    "stepfather stepson stepbrother".split()
)


# Given names of ``offline_words.FIRST_NAMES`` that nearly always name a woman or a man:
# a pronoun that does not fit one is someone else ("I had lunch with Tom. She ..."). The
# names used for both (Sam, Alex, Jordan, Riley, Kim, Lee...) are in neither.
_SHE_NAMES = frozenset(
    """
    alice carol eve grace heidi judy mallory peggy anna emma olivia ava sophia isabella mia
    charlotte amelia harper evelyn abigail emily elizabeth sofia ella madison scarlett
    victoria aria chloe camila penelope layla lillian nora zoey mila hannah lily addison
    eleanor natalie luna savannah brooklyn leah zoe stella hazel ellie paisley audrey
    violet claire bella aurora lucy sarah caroline melanie maria mary patricia jennifer
    linda barbara susan jessica karen nancy lisa betty margaret sandra ashley kimberly
    donna michelle dorothy rebecca laura helen amy kathleen angela shirley brenda pamela
    nicole samantha katherine christine debra deborah rachel catherine carolyn janet ruth
    julie joanna gina jolene tina rose ann jane kate beth meg jen sue fatima aisha priya
    ananya lucia marie ingrid olga mei
    """.split()
)
_HE_NAMES = frozenset(
    """
    bob dave david frank ivan oscar trent victor walter james john robert michael william
    richard joseph thomas charles christopher daniel matthew anthony mark donald steven
    paul andrew joshua kenneth kevin brian george timothy ronald edward jason jeffrey ryan
    jacob gary nicholas eric jonathan stephen larry justin scott brandon benjamin samuel
    gregory alexander patrick jack dennis jerry tyler aaron jose adam nathan henry douglas
    zachary peter kyle noah ethan jeremy christian keith roger terry austin sean gerald
    carl harold dylan arthur lawrence bryan billy bruce gabriel joe logan albert willie
    alan eugene russell vincent philip bobby johnny bradley roy ralph louis randy wayne
    liam lucas mason oliver elijah nate tim evan calvin jon tom tommy mike ben max leo
    jake luke nick dan tony jim bill steve fred ted omar ahmed mohammed hiro raj arjun
    carlos juan miguel luis diego pierre hans klaus sven dmitri
    """.split()
)


def gender_of(relation: str) -> str:
    """ "f", "m" or "" for the person a tie names: ``sister`` and ``ex_wife`` say "f"."""
    head = relation.rsplit("_", 1)[-1]
    if relation.endswith("_in_law"):
        head = relation.split("_", 1)[0]
    return "f" if head in _SHE else "m" if head in _HE else ""


def name_gender(name: str) -> str:
    """ "f", "m" or "" for a name whose first word is a given name of one of the lists."""
    words = name.split(maxsplit=1)
    first = words[0].casefold() if words else ""
    return "f" if first in _SHE_NAMES else "m" if first in _HE_NAMES else ""


KindOf = Callable[[Mention], str]  # "person", "vague" (may be one) or "" (is none)


@dataclass
class Person:
    key: str
    name: str
    gender: str = ""


PRONOUNS = frozenset({"he", "she", "his", "her"})


def followed(sentences: Sequence[Sentence]) -> bool:
    """Whether one text's people are worth following: it holds a pronoun after its first
    sentence, or one the first sentence's own names may stand for ("My friend Jake and his
    girlfriend Mia"). Read from the casefolded tokens the sentences already hold: the
    speed suite's one-sentence memories pay a set look-up each."""
    said = [not PRONOUNS.isdisjoint(s.low) for s in sentences]
    return any(said[1:]) or (bool(said) and said[0] and bool(_PRONOUN.search(sentences[0].work)))


class Antecedents:
    """The people spoken of so far, for ``_Run`` in ``offline.py``: within one text, or,
    passed to ``OfflineExtractor.extract(people=...)`` message after message, across the
    turns of one conversation ("My sister Ann moved." / "What does she do?" / "She works
    at Google.").
    """

    def __init__(self, wanted: bool = True, speakers: Sequence[str] = ()) -> None:
        self.people: list[Person] = []
        self.wanted = wanted
        self.pets = PetNames()  # a pet not yet named ("I got a pup!" / "Her name is Coco")
        self.asked = AskedAbout()  # a question about oneself ("Where do you live?" / "Oslo.")
        # A conversation's speakers are "I" and "you" to each other, never "he" or "she".
        self.speakers = {name_key(s) for s in speakers}

    def _spoken_of(self, work: str, mentions: Sequence[Mention], kind_of: KindOf):
        """The people and the vague names (a pet, a character: ``kind_of`` says "vague")
        of ``mentions``, but for who speaks, is spoken to, or takes part in the chat."""
        people, vague = [], []
        # A name the talk already holds as a person stays one: "My wife Clara ..." / "Does
        # Clara bake?" / "She runs a bakery" (the second turn alone cannot type Clara).
        held = {p.key for p in self.people}
        for m in mentions:
            if m.kind == "speaker" or name_key(m.name) in self.speakers or addressed(work, m):
                continue
            kind = kind_of(m)
            if kind == "vague" and name_key(m.name) in held:
                kind = "person"
            (people if kind == "person" else vague if kind == "vague" else []).append(m)
        return people, vague

    def stand_in(self, work: str, mentions: list[Mention], kind_of: KindOf) -> list[Mention]:
        """``mentions`` with one added for each pronoun a single person fits, in order.

        The people are the last sentence's, except for "his" / "her" after a name of its
        own sentence: "My brother Tom and his wife Sue" is Tom's wife.
        """
        added = []
        for count, match in enumerate(_PRONOUN.finditer(work)):
            if count == _MOST_PRONOUNS:
                break  # no prose: each one reads the sentence before it again
            start, end = match.span("s") if match.group("s") else match.span("p")
            if any(m.start < end and start < m.end for m in mentions):
                continue
            before, vague = self._spoken_of(work, [m for m in mentions if m.end <= start],
                                            kind_of)  # fmt: skip
            if vague or _unnamed(work, before, start):
                continue  # "The doctor said she ...": someone it does not name may be meant
            if before and match.group("s"):
                continue  # "Ann told Mia she ...": either may be meant
            pool = self.people
            if before:
                pool = [Person(name_key(m.name), m.name, name_gender(m.name)) for m in before]
            gender = "f" if match.group(0).lower() in ("she", "her") else "m"
            fits = {p.key: p for p in pool if p.gender in ("", gender)}
            if len(fits) == 1:
                (person,) = fits.values()
                added.append(Mention(start, end, person.name, "known",
                                     possessive=bool(match.group("p")),
                                     known_type="person"))  # fmt: skip
        if not added:
            return mentions
        return sorted([*mentions, *added], key=lambda m: m.start)

    def after(
        self, work: str, mentions: Sequence[Mention], kind_of: KindOf, gender: Callable[[str], str]
    ) -> None:
        """Take the people of the sentence just read (``mentions``, pronouns included). A
        name of no known kind ("I took Seraphim to the park. She loved it.") or a person
        not named leaves no one to stand in."""
        named, vague = self._spoken_of(work, mentions, kind_of)
        unnamed = _unnamed(work, named, len(work)) + len(vague)
        if not named and not unnamed:
            return  # no one spoken of: the last people still stand
        people: dict[str, Person] = {}
        for mention in named:
            key = name_key(mention.name)
            said = gender(key) or name_gender(mention.name)
            people.setdefault(key, Person(key, mention.name, said))
        self.people = [] if unnamed else list(people.values())


def _unnamed(work: str, named: Sequence[Mention], upto: int) -> int:
    """How many people ``work[:upto]`` speaks of by a noun alone, with no name of ``named``
    right after it, or before it past a comma ("Ann, my sister"): not a possessor ("Sam's
    sister" is someone else)."""
    count = 0
    for match in _PERSON_NOUN.finditer(work, 0, upto):
        start, end = match.span()
        if not any(end <= m.start <= end + 2 or (start - 8 <= m.end <= start
                   and not m.possessive and "," in work[m.end : start])
                   for m in named):  # fmt: skip
            count += 1
    return count
