"""The language the offline extractor's relation rules are written in (the rules
themselves: ``offline_rules.py``; dates: ``offline_dates.py``).

Rules run on a *template* of one sentence in which every entity mention has been
replaced by a placeholder ``\\ue000<n>\\ue001`` (private-use characters, removed from the
input first, so text cannot forge one) and "my" by ``<speaker>'s``. One regex then covers
"Alice", "Acme Corp", "I" and "my" alike, and a rule can never match inside a name.

Named groups a rule may use, read by ``offline.py``:
``a`` subjects (one, or a list joined by "and"), ``b`` the target entity, ``rest`` the text
after the verb (a liked thing or an "is a" class), ``f`` where someone moved from, ``z`` a
job noun, ``p`` a possessor, ``x`` relatives, ``k`` a kin word, ``pl`` its plural ending,
``v`` the verb (for agreement checks), ``best`` the "best" in "best friends", ``intro``
the noun that brought a target in ("a small town called Bree").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from ..models import relation_key
from .offline_words import (
    ABSTRACT,
    BLAND,
    DETERMINERS,
    INSTITUTIONS,
    KIN_KEEP,
    KIN_MODIFIERS,
    KIN_SYNONYMS,
    KIN_WORDS,
    PET_WORDS,
    PHRASE_BREAK,
    PHRASE_STOP,
)

OPEN, CLOSE = "\ue000", "\ue001"
ENTITY = f"{OPEN}\\d+{CLOSE}"
PLACEHOLDER = re.compile(f"{OPEN}(\\d+){CLOSE}")

# After a target: punctuation, the end, or a word that starts a new phrase. Without it
# "joined the LGBTQ support group" would read as joining an organisation called LGBTQ.
_END = (
    r"(?=\s*(?:[.,;:!?)\"]|$)|\s+(?:in|on|at|since|from|until|till|as|and|but|with|when|"
    r"while|after|before|because|so|for|to|during|last|this|next|every|now|anymore|again|"
    r"yesterday|today|tomorrow|where|which|who|right|back|\d)"
    # Whole words only (the list above also takes a word's start: "in" of "inside"). Chat
    # goes on past a name: "moved to Denver two years ago", "engaged to Priya over the
    # weekend", "lived in Chicago my whole life".
    r"|\s+(?:over|around|about|near|by|through|ever|recently|already|together|almost|"
    r"nearly|a|an|one|two|three|four|five|six|seven|eight|nine|ten|several|most|all|"
    rf"here|there|earlier)(?![\w'-])|\s+{ENTITY}'s\s+(?:whole|entire)\s)"
)
_ADV = (
    r"(?:\s+(?:now|currently|still|also|recently|just|already|finally|actually|really|then|"
    r"later|eventually|originally|previously|officially|happily|both|all|even|once|soon|"
    r"always|truly|absolutely|totally|definitely|newly|first)){0,3}"
)
# Auxiliaries between a subject and its verb ("has worked", "'m living", "got married").
# "'d" is left out on purpose: "I'd live in Paris" is a wish, not a fact.
_AUX = (
    r"(?:\s+(?:is|was|am|are|were|has|have|had|got|gets|get)(?:\s+been)?|'m|'re|'s"
    r"|'ve(?:\s+been)?|'d\s+been|\s+(?:started|began|been))?"
)
_HAVE = r"(?:\s+(?:has|have|had)|'ve)?"
# "became" too: "Alice became a nurse at Mercy Hospital", "became the CEO of Acme".
_BE = (
    r"(?:\s+(?:is|was|am|are|were|became|becomes|become)|'m|'re|'s|\s+(?:has|have|had)\s+been"
    r"|'ve\s+been)"
)
# "is a" only in the present: "when I was a kid" is not what someone is.
_IS = r"(?:\s+(?:is|am|are)|'m|'re|'s)"


def name_list(conjunction: str = "and|&") -> str:
    """One name, or a list of names joined by ``conjunction``.

    Lists need an "and": a bare comma would glue "After meeting Bob, Alice ..." together.
    A comma before the "and" only after two names or more ("Tom, Ann, and I"): after one,
    ", and" starts a clause ("I joined Meta, and I love hiking" is no list of lovers).
    Lists are capped at ten names so that a long run of names stays linear to scan.
    """
    tail = rf"\s+(?:{conjunction})\s+{ENTITY}"
    return rf"{ENTITY}(?:(?:\s*,\s*{ENTITY}){{1,8}}\s*,?{tail}|{tail})?"


_SUBJ = rf"(?P<a>{name_list()})"
_KIN_WORDS = "|".join(re.escape(w) for w in sorted(KIN_WORDS, key=len, reverse=True))
_KIN_MODS = "|".join(sorted(KIN_MODIFIERS, key=len, reverse=True))
KIN = rf"(?P<k>(?:(?:{_KIN_MODS})[\s-]+){{0,2}}(?:{_KIN_WORDS}))(?P<pl>s|es)?"
_KIN_END = r"(?![\w'-])"
_PET_WORDS = "|".join(re.escape(w) for w in sorted(PET_WORDS, key=len, reverse=True))
# "my two old cats", "Jolene's new pet snake": a count, an age or a kind before the word.
_PET_MODS = (
    r"(?:(?:new|little|old|young|baby|sweet|rescue|two|three|four|other|pet|guinea|golden|black|"
    r"white|brown|grey|gray|orange|ginger|chocolate|tabby|fluffy|cute|big|tiny)\s+){0,2}"
)
PET = rf"{_PET_MODS}(?P<k>{_PET_WORDS})(?P<pl>s|es)?"
_CLAUSE_END = r"(?=\s*(?:[,.;:!?)]|$))"
_REL_LIST = rf"(?P<x>{name_list('and')})"

# A name that is a possessive: "works at McDonald's", "a nurse at St. Luke's hospital"
# (the rules' end follows it, so "at Bob's house" is not read as a place called Bob's).
_OWN = rf"(?P<own>'s(?:\s+(?P<inst>{'|'.join(sorted(INSTITUTIONS))}))?)?"

_PARTS = {  # in order: "<PRE>" expands into parts replaced after it
    "<PRE>": "<S><ADV><AUX><ADV>",
    # The tie word before a spouse's or a partner's name: "divorced my husband Tom".
    "<SPOUSE>": r"(?:(?:<E>'s|his|her|their)\s+(?:husband|wife|spouse)\s+)?",
    "<PARTNER>": r"(?:(?:<E>'s|his|her|their)\s+(?:boyfriend|girlfriend|partner)\s+)?",
    "<S>": _SUBJ,
    "<BUSINESS>": r"(?:an?|<E>'s|(?:his|her|their|our)(?:\s+own)?)\s+(?:own\s+)?(?:[a-z-]+\s+){0,2}?"
    r"(?:company|startup|business|firm|agency|bakery|restaurant|cafe|café|shop|store|"
    r"boutique|studio|salon|bar|brewery|clinic|practice|nonprofit|charity|podcast|label)\s+"
    r"(?:called|named)\s+(?:the\s+)?(?P<b><E>)<END>",
    # "I live in a small apartment in Brooklyn", "in the suburbs of Chicago".
    "<HOME_IN>": r"(?:(?:an?|the|<E>'s)\s+(?:[a-z-]+\s+){0,2}?(?:apartment|house|flat|condo|"
    r"place|home|studio|loft|townhouse|cottage|suburbs?|outskirts|part|area)\s+(?:in|of|near|"
    r"outside(?:\s+of)?)\s+)?",
    # A verb right after a name said in passing: "my boss at Google wants me to relocate".
    "<THEN_VERB>": r"(?=\s+(?:is|was|are|were|has|have|had|wants|wanted|said|says|asked|told|"
    r"gave|just|thinks|starts|started|ends|ended|ran|runs|went|goes|got|gets|threw|throws|"
    r"love|loves|loved|keep|keeps|kept|made|makes|invited|invites|sent|sends|let|lets|"
    r"surprised|organized|planned|took|takes|seem|seems|seemed|can|could|will|would)(?![\w'-]))",
    "<PLACE_IN>": r"(?:an?\s+(?:(?:small|little|tiny|big|rural|coastal|farming|mining|"
    r"fishing|college)\s+)?(?:town|city|village|suburb|island|farm|place)\s+(?:in|outside(?:\s+of)?|"
    r"near)\s+)?",
    # "the Louvre"; "a small town called Bree", "a startup named Loom": the name is the
    # target, whatever noun introduced it.
    "<O>": rf"(?:the\s+|(?:an?|the)\s+(?P<intro>(?:[a-z-]+\s+){{1,3}})(?:called|named)\s+)?"
    rf"(?P<b>{ENTITY}){_OWN}",
    # Named outright only: "joined a club called Chess Masters" is no employer.
    "<OP>": rf"(?:the\s+)?(?P<b>{ENTITY}){_OWN}",
    "<E>": ENTITY,
    "<P>": rf"(?P<p>{ENTITY})'s",
    "<END>": _END,
    "<ADV>": _ADV,
    "<AUX>": _AUX,
    "<HAVE>": _HAVE,
    "<BE>": _BE,
    "<IS>": _IS,
    "<KIN>": KIN,
    "<PET>": PET,
    "<KEND>": _KIN_END,
    "<CEND>": _CLAUSE_END,
    "<X>": _REL_LIST,
}


@dataclass(frozen=True)
class Rule:
    """One pattern and what it means.

    ``relation`` is a relation name, or an ``@handler`` the extractor resolves (``@kin``,
    ``@moved``...): "@" can never pass ``check_relation_name``, so a handler name cannot
    leak into the graph. ``phrase`` > 0 means the target may be a lower-case phrase of at
    most that many words (a "concept"); ``strict`` demands the phrase end the clause.
    ``cues``: strings of which every match holds one (a verb stem, the kin words...), so
    a sentence holding none skips the regex (a test proves each on the parsed regex): most
    sentences fit one or two rules, and searching all of them (43 then) was a quarter of
    the extractor's time.
    """

    relation: str
    pattern: str
    subject_type: str = ""
    target_type: str = ""
    phrase: int = 0
    strict: bool = False
    cues: frozenset[str] = frozenset()
    alone: bool = False  # its target is in its words (an age), so a subject is enough
    # A tie said on the way ("my sister Anna"), which holds in a question, a negated or a
    # hedged sentence too: "Can't wait to see my girlfriend Maya", "Did my dog Rex eat?".
    presupposed: bool = False

    @cached_property
    def regex(self) -> re.Pattern[str]:
        """Compiled on first use: the 43 rules (then) took 0.17 s to compile, paid by every
        process that opened a memory, searching or not (measured at a 1M-memory open)."""
        return re.compile(self.pattern)

    @property
    def mentions_needed(self) -> int:
        """Placeholders a match needs: a subject, plus a target unless it may be a phrase."""
        return 1 if self.phrase or self.alone else 2


# A cue lies inside one run of these (``offline_rules.rules_for``).
CUE_RUN = re.compile(r"[a-z-]+")


def expand(pattern: str) -> str:
    """``pattern`` with its parts ("<PRE>", "<E>"...) written out."""
    for part, value in _PARTS.items():
        pattern = pattern.replace(part, value)
    if any(part in pattern for part in _PARTS):  # a part used before its definition
        raise ValueError(f"unexpanded part in rule pattern {pattern!r}")
    return pattern


def kin_relation(raw: str) -> str:
    """``"little sister"`` -> ``sister``, ``"best friend"`` -> ``best_friend``, ``"mom"`` -> ``mother``."""
    words: list[str] = []
    for word in raw.casefold().split():
        if word.startswith("ex-") and len(word) > 3:
            words += ["ex", word[3:]]
        else:
            words.append(word)
    head = KIN_SYNONYMS.get(words[-1], words[-1])
    keep = [w for w in words[:-1] if w in KIN_KEEP and not head.startswith(w + "_")]
    return relation_key("_".join([*keep, head]))


_PHRASE_TOKEN = re.compile(f"{ENTITY}|[a-z][a-z'-]*|[A-Z][\\w'-]*|\\d+|[^\\s\\w]")
_STRICT_NEXT = frozenset("at for in from who and with since on but so because now".split())
# What may follow a lone gerund that is itself the liked thing ("I love hiking with
# friends"); anything else is its object ("I love creating a serene space").
_GERUND_NEXT = frozenset(
    "and or with in on at so when because too every during together outside around lately "
    "now more since for".split()
)


def read_phrase(rest: str, max_words: int, strict: bool) -> str:
    """The lower-case thing a rule points at: ``"hiking in the alps"`` -> ``"hiking"``.

    Returns "" unless the text starts with a plain noun-like phrase of at most
    ``max_words`` words, which keeps "I love it", "I love your commitment", "I love the
    way..." and "I'm a bit tired" out of the graph.
    """
    tokens = _PHRASE_TOKEN.findall(rest)
    i, article = 0, ""
    while i < len(tokens) and tokens[i] in DETERMINERS:
        article, i = article or tokens[i], i + 1
    words: list[str] = []
    while i < len(tokens) and tokens[i].isalpha() and tokens[i].islower():
        if tokens[i] in PHRASE_BREAK or (not words and tokens[i] in PHRASE_STOP):
            break
        words.append(tokens[i])
        i += 1
    following = tokens[i] if i < len(tokens) else ""
    if not words or len(words) > max_words or words[-1] in ABSTRACT:
        return ""
    if following == "of" or following.startswith(OPEN):
        return ""  # "the smell of rain", "Bob's car": the head noun is elsewhere
    ends_clause = not following or following in ".,;:!?)"
    if article == "the" and not ends_clause:
        return ""
    lone_gerund = len(words) == 1 and words[0].endswith("ing")
    if lone_gerund and not ends_clause and following not in _GERUND_NEXT:
        return ""
    if strict:
        if words[0] in BLAND or words[-1].endswith("ly"):
            return ""
        if not ends_clause and following not in _STRICT_NEXT:
            return ""
    return " ".join(words)


# A rule's entity target at the start of ``rest``: "I love Paris." / "I love the Beatles".
TARGET_ENTITY = re.compile(rf"(?:the\s+)?{OPEN}(\d+){CLOSE}{_END}")
