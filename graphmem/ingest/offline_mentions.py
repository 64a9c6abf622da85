"""Sentences and entity mentions for the offline extractor.

A mention is a character span of one sentence that names an entity: a known entity's
name or alias (any case), a capitalised span, or the speaker's I / me / my / mine
(and we / us / our, a group the speaker belongs to).
Overlaps are settled longest-first, so "New York City" beats a known "New York" and
"Acme Corp" stays one name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from ..stores.base import KnownEntity
from . import offline_words as words
from .offline_clauses import LEFT_OUT_ADVERB, LEFT_OUT_VERB

TOKEN = re.compile(r"\w+(?:[&.\-]\w+)*")
# "i" in lower case too: chat text often has it; "i.e." is not a pronoun, nor is a part
# of a hyphenated code ("I-95", "us-east-1"). "We" / "our" / "us" are a group the speaker
# belongs to ("We live in Ghent", "our daughter Emma").
_SPEAKER = re.compile(
    r"(?<!-)\b(?:(?P<my>[Mm][Yy]|(?P<our>[Oo]ur))|[Ii]|(?P<we>[Ww]e)"
    r"|(?P<me>[Mm][Ee]|[Mm]yself|[Mm]ine|(?P<us>[Uu]s|[Oo]urselves|[Oo]urs)))\b(?!\.\w|-\w)"
)
# Full-width stops (Chinese, Japanese) end a sentence with no space after them.
_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s|$)|[。！？]+[」』”’)）\]]*")
_LAST_WORD = re.compile(r"(\w[\w.]*)$")
_NO_SPLIT = frozenset("mr mrs ms dr prof st mt jr sr vs etc e.g i.e approx no fig".split())
_INITIAL_AFTER = frozenset(":\"'([“‘-—*>.!?")
_RANK = {"known": 0, "speaker": 1, "name": 2}
_VENUES = words.ORG_SUFFIXES | words.LOC_SUFFIXES
# Placeholder characters of the rule templates and curly quotes, mapped to same-length
# text so every offset found in the working copy is valid in the original sentence.
_CLEAN = {0xE000: " ", 0xE001: " ", 0x2019: "'", 0x2018: "'"}


@dataclass
class Mention:
    start: int
    end: int
    name: str
    kind: str  # known | speaker | name | concept
    possessive: bool = False  # "my": the template writes it as "<speaker>'s"
    known_type: str = ""
    objective: bool = False  # "me": never the subject ("makes me love the game")
    # A capitalised first word with no evidence of being a name ("Nature is calming"):
    # kept only if a relation rule other than likes / is_a uses it.
    tentative: bool = False
    # "we" / "our" / "us": a group the speaker belongs to, not the speaker alone
    plural: bool = False


@dataclass
class Sentence:
    text: str  # as written: this becomes the fact
    work: str  # cleaned copy with the same offsets
    tokens: list[re.Match[str]]
    low: list[str]  # casefolded tokens


def split_sentences(text: str) -> list[Sentence]:
    """Lines, then sentence ends; "Dr." and initials ("J. Smith") do not end a sentence."""
    pieces: list[str] = []
    for line in text.splitlines():
        start = 0
        for mark in _SENTENCE_END.finditer(line):
            if mark.group() == ".":
                # The word before the mark, looked for in the 64 characters before it:
                # from ``start``, a line of 6,000 initials ("A. A. ...") took seconds.
                last = _LAST_WORD.search(line, max(start, mark.start() - 64), mark.start())
                word = last.group(1) if last else ""
                if word.casefold() in _NO_SPLIT or (len(word) == 1 and word.isupper()):
                    continue
            if line[start : mark.end()].strip():
                pieces.append(line[start : mark.end()].strip())
            start = mark.end()
        if line[start:].strip():
            pieces.append(line[start:].strip())
    out = []
    for piece in pieces:
        work = piece.translate(_CLEAN)
        tokens = list(TOKEN.finditer(work))
        out.append(Sentence(piece, work, tokens, [t.group().casefold() for t in tokens]))
    return out


def is_initial(work: str, position: int) -> bool:
    """True where grammar, not a name, explains a capital letter."""
    k = position - 1
    while k >= 0 and work[k].isspace():
        k -= 1
    return k < 0 or work[k] in _INITIAL_AFTER


@lru_cache(maxsize=8192)
def _label_tokens(label: str) -> tuple[str, ...]:
    return tuple(t.casefold() for t in TOKEN.findall(label))


class KnownIndex(Sequence[KnownEntity]):
    """Known names and aliases by their casefolded tokens, for longest-match lookup.

    Also the list of known entities itself, grown with ``append``: a batch builds one index
    and extends it text by text, where rebuilding it for every text made a 1,000-memory
    batch quadratic (13 of 60 s profiled at 5k memories).
    """

    def __init__(self, known: Sequence[KnownEntity] = ()) -> None:
        self.stored = len(known)  # the first ``stored`` came from the store, the rest since
        self.entities: list[KnownEntity] = []
        self.by_label: dict[tuple[str, ...], KnownEntity] = {}
        # First token -> the label lengths (in tokens) starting with it, longest first:
        # only those are looked up, not every length up to the longest label.
        self.sizes: dict[str, list[int]] = {}
        for entity in known:
            self.append(entity)

    def append(self, entity: KnownEntity) -> None:
        self.entities.append(entity)
        for label in [entity.name, *entity.aliases]:
            tokens = _label_tokens(label)[:8]
            # One-word labels that are function words or dates would match everywhere.
            if not tokens or (len(tokens) == 1 and (
                    len(tokens[0]) < 2 or tokens[0] in words.STOP
                    or tokens[0] in words.TIME_WORDS)):  # fmt: skip
                continue
            if tokens not in self.by_label:
                self.by_label[tokens] = entity
                sizes = self.sizes.setdefault(tokens[0], [])
                if len(tokens) not in sizes:
                    sizes.append(len(tokens))
                    sizes.sort(reverse=True)

    def offered(self, text: str, most: int = 200, recent: int = 50) -> list[KnownEntity]:
        """What a model is told is known before it reads ``text``: the entities ``text``
        names (name or alias, any case) first, then those read from the store, then the
        ``recent`` found last in this batch; at most ``most``.

        The whole list grew with the batch: the 100th passage of an ``add_many`` was sent
        with the ~900 entities of the 99 before it (musique-dev, recorded extractions),
        most of them nothing to do with it, in every one of those prompts.
        """
        low = [t.casefold() for t in TOKEN.findall(text)]
        named: dict[int, KnownEntity] = {}
        for i in range(len(low)):
            for _size, entity in self._labels_at(low, i):
                named.setdefault(id(entity), entity)
                break  # the longest label from here, as ``find`` takes it
        out = list(named.values())
        taken = set(named)
        batch = self.entities[self.stored :]
        for entity in [*self.entities[: self.stored], *batch[len(batch) - recent :]]:
            if len(out) >= most:
                break
            if id(entity) not in taken:
                taken.add(id(entity))
                out.append(entity)
        return out[:most]

    def __getitem__(self, index):  # type: ignore[override]
        return self.entities[index]

    def __len__(self) -> int:
        return len(self.entities)

    def find(self, sentence: Sentence) -> Iterator[Mention]:
        tokens, low, work = sentence.tokens, sentence.low, sentence.work
        for i in range(len(low)):
            for size, entity in self._labels_at(low, i):
                last = i + size - 1
                if all(work[tokens[k].end() : tokens[k + 1].start()].isspace()
                       for k in range(i, last)):  # fmt: skip
                    yield Mention(tokens[i].start(), tokens[last].end(), entity.name, "known",
                                  known_type=entity.type or "")  # fmt: skip
                    break

    def _labels_at(self, low: Sequence[str], i: int) -> Iterator[tuple[int, KnownEntity]]:
        """``(size in tokens, entity)`` of each known label the casefolded tokens ``low``
        hold from ``i`` on, longest first."""
        for size in self.sizes.get(low[i], ()):
            if size <= len(low) - i:
                entity = self.by_label.get(tuple(low[i : i + size]))
                if entity is not None:
                    yield size, entity


class MentionFinder:
    """Finds the mentions of one text; ``prepare`` must see every sentence first."""

    def __init__(self, speaker: str, known: KnownIndex) -> None:
        self.speaker = speaker
        self.known = known
        self.capitalised_inside: set[str] = set()

    def prepare(self, sentences: Sequence[Sentence]) -> None:
        # A word written with a capital mid-sentence anywhere in the text is a name at the
        # start of a sentence too ("Globex is hiring. I applied to Globex.").
        for s in sentences:
            for token, lowered in zip(s.tokens[1:], s.low[1:], strict=True):
                if token.group()[0].isupper() and not is_initial(s.work, token.start()):
                    self.capitalised_inside.add(lowered)

    def find(self, sentence: Sentence) -> list[Mention]:
        found = list(self.known.find(sentence))
        found += self._name_spans(sentence)
        if self.speaker:
            found += [Mention(m.start(), m.end(), self.speaker, "speaker", bool(m.group("my")),
                              objective=bool(m.group("me")),
                              plural=bool(m.group("we") or m.group("our") or m.group("us")))
                      for m in _SPEAKER.finditer(sentence.work)]  # fmt: skip
        # Longest mention wins an overlap; on a tie, a known entity beats a guess.
        found.sort(key=lambda m: (m.start, m.start - m.end, _RANK[m.kind]))
        chosen: list[Mention] = []
        for mention in found:
            if not chosen or mention.start >= chosen[-1].end:
                chosen.append(mention)
        return chosen

    @staticmethod
    def _capital(token: str, lowered: str) -> bool:
        return token[0].isupper() and lowered not in words.STOP and lowered not in words.TIME_WORDS

    def _name_spans(self, sentence: Sentence) -> Iterator[Mention]:
        tokens, low, work = sentence.tokens, sentence.low, sentence.work
        # _capital once per token up front: the loop below asked for most tokens, one
        # call each (~80k calls per 10k memories).
        stop, time_words = words.STOP, words.TIME_WORDS
        caps = [t.group()[0].isupper() and w not in stop and w not in time_words
                for t, w in zip(tokens, low, strict=True)]  # fmt: skip
        i, count = 0, len(tokens)
        while i < count:
            if not caps[i]:
                i += 1
                continue
            j = i
            while j + 1 < count:
                gap = work[tokens[j].end() : tokens[j + 1].start()]
                joined = gap in (" ", " & ") and caps[j + 1]
                titled = (gap == ". " and low[j] in words.ABBREVIATIONS
                          and tokens[j + 1].group()[0].isupper())  # fmt: skip
                if joined or titled:
                    j += 1
                elif (gap == "'" and low[j + 1] == "s" and j + 2 < count
                      and work[tokens[j + 1].end() : tokens[j + 2].start()] == " "
                      and low[j + 2] in _VENUES and tokens[j + 2].group()[0].isupper()):  # fmt: skip
                    j += 2  # "St. Mary's Hospital", "Joe's Diner": the "'s" is in the name
                elif gap == " " and (step := self._connected(sentence, j)):
                    j += step  # "Bank of America", "Lord of the Rings"
                else:
                    break
            if (
                j > i
                and low[i + 1] in words.FIRST_NAMES
                and low[i] not in words.ABBREVIATIONS
                and is_initial(work, tokens[i].start())
                and not self._evidence(sentence, i)
                # "Uma Leo Haas" is one person with two given names; three words in a row
                # lose the first only to a word that opens chat lines ("Hey Leo Haas").
                and (j == i + 1 or low[i] in words.FILLER)
            ):
                i += 1  # "Woah Joanna", "Go Jon": an interjection before a name
            keep = self._keep_span(sentence, i, j)
            if keep:
                start, end = tokens[i].start(), tokens[j].end()
                yield Mention(start, end, sentence.text[start:end], "name",
                              tentative=keep == "tentative")  # fmt: skip
            i = j + 1

    def _connected(self, sentence: Sentence, j: int) -> int:
        """Tokens to skip to reach a capitalised word through one or two connectors, or 0."""
        tokens, low, work = sentence.tokens, sentence.low, sentence.work
        k = j + 1
        while k + 1 < len(tokens) and k - j <= 2 and low[k] in words.CONNECTORS:
            if work[tokens[k].end() : tokens[k + 1].start()] != " ":
                return 0
            k += 1
            if self._capital(tokens[k].group(), low[k]):
                return k - j
        return 0

    def _keep_span(self, sentence: Sentence, i: int, j: int) -> str:
        """ "yes", "tentative" or "" (not a name) for the span of tokens ``i..j``."""
        if i != j:
            return "yes"
        word, text = sentence.low[i], sentence.tokens[i].group()
        if word in words.HONORIFICS or len(text) == 1:
            return ""
        if not is_initial(sentence.work, sentence.tokens[i].start()):
            return "yes"
        # Sentence-initial: capitalised by grammar, so ask for some evidence of a name.
        return "yes" if self._evidence(sentence, i) else "tentative"

    def _evidence(self, sentence: Sentence, i: int) -> bool:
        """Reasons to believe a sentence-initial word is a name. "'s" is not one ("Life's")."""
        word, text = sentence.low[i], sentence.tokens[i].group()
        after = sentence.work[sentence.tokens[i].end() : sentence.tokens[i].end() + 1]
        return (word in words.FIRST_NAMES or word in words.PLACES or after == ":"
                or word in self.capitalised_inside or text.isupper())  # fmt: skip


# A chat line often leaves its "I" out: "Just got hired at Spotify!", "Moved to Denver
# last month." A sentence that opens (after an adverb or two) with one of these verbs is
# read as the speaker's own (``words.LEFT_OUT_VERBS`` says which, and why only those).
_OMITTED_SUBJECT = re.compile(
    rf"\s*[\"'(]?(?:{LEFT_OUT_ADVERB}\s+){{0,2}}{LEFT_OUT_VERB}", re.IGNORECASE
)


def left_out(work: str, mentions: list[Mention], speaker: str) -> list[Mention] | None:
    """The mentions to read a sentence with when it left its "I" out
    (``_OMITTED_SUBJECT``), less the guessed names among its opening words ("Got hired
    at X" made a person "Got" who worked at X; "Joined Acme" one named so); None when it
    did not, or when there is no speaker to put back (an assistant's reply)."""
    opening = _OMITTED_SUBJECT.match(work) if speaker else None
    if opening is None:
        return None
    end = opening.end()
    early = [m for m in mentions if m.start < end]
    if any(m.kind != "name" for m in early):  # a known name leads: "Moved Inc. ..."
        return None
    kept = [m for m in mentions if m.start >= end]
    last = early[-1] if early else None
    if last is not None and last.end > end:  # "Joined Acme" was read as one name
        start = last.end - len(work[end : last.end].lstrip())
        kept.insert(0, replace(last, start=start, name=work[start : last.end], tentative=False))
    return kept
