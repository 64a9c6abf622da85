"""``OfflineExtractor``: a knowledge graph from plain English with no model and no download.

The default extractor when no LLM is configured, and the entity linker for memories
stored verbatim. Pure Python regular expressions over one sentence at a time:
deterministic (same input, same output, same order) and fast enough for whole chat logs.

What it finds
    - Facts: one per sentence that says something (fillers such as "Thanks so much!"
      and two-word sentences without a name are skipped). The text is the sentence as
      written; "I" and "my" are not rewritten.
    - Entities: capitalised spans ("New York", "Bank of America", "Dr. Smith"), names and
      aliases of ``known`` entities in any case, and the speaker whenever the text says
      I / me / my / mine or we / us / our, or leaves the "I" out of a chat line ("Just
      got hired at Spotify!", "Moved to Denver"). Sentence-initial function words,
      weekdays and months are not names.
    - Types: person / organization / location / other (plus concept for liked things and
      "is a" classes), from the strongest cue: the speaker, a known entity's type, a name
      suffix or prefix ("Acme Corp", "University of X", "Lake Y", "Dr. Z"), the relation
      the name appears in, a short list of given names, then a short list of places.
    - Relations (``offline_rules.RULES``): works_at, lives_in, born_in, grew_up_in,
      studies_at, founded, owns, manages, member_of, married_to, engaged_to, dating,
      comes_from, located_in, likes, dislikes, is_a, has_name, moved_to, allergic_to
      ("I'm allergic to peanuts", "a severe shellfish allergy"), age ("I'm 32 years
      old", "Ann just turned 5"; single-valued, so a newer age ends the older), favorite_<kind>
      ("my favorite band is Coldplay": favorite_band), and family or
      social ties (brother, sister, mother, best_friend, colleague, boss...) with the
      possessor as source: "Bob is Alice's brother" gives Alice -[brother]-> Bob, "I
      have two kids, Sam and Ella" the speaker -[child]-> each; pets likewise ("my snake
      Seraphim", "a cat named Tom": speaker -[pet]-> Seraphim, the pet typed "other"),
      and a pet named up to two sentences after it came ("I got a puppy! Her name's
      Coco", ``offline_pets``).
      "X moved from A to B" becomes works_at B when A is an organization, lives_in B when
      A is a place, else moved_to B; superseding the old edge is the resolver's job.
      A target may be brought in by a noun ("a small town called Bree", "a startup named
      Loom"), except for "joined" (a club is no employer), and may be a possessive that
      ends its clause ("works at McDonald's", "a nurse at St. Luke's hospital").
    - Dates: "in 2019", "since May 2021", "on 2023-05-01", "on May 1, 2023" set valid_at
      on the fact and its relations; "until 2020" / "from 2018 to 2020" set invalid_at.
      A relation takes its own clause's: "until 2020 and then joined Meta" ends no job
      at Meta. An end said with no start ends the job, home, marriage or relationship
      it names: "retired from Boeing in 2019" at 2019; "I quit my job at Acme", "got
      laid off from Meta", "no longer lives in Paris", "used to live in Denver", "moved
      out of Chicago", "divorced my husband Tom", "broke up with Ann" with no date, when
      it was said (``reference_time``; with none, no relation, since one with no end
      would read as current), and a tie said on the way (husband) with it; so does a
      pet said to have died ("my dog Rex passed away", "we lost our cat Luna"). The
      resolver closes the stored relation that held.

What it misses, on purpose or by construction
    - English only. Coreference is the speaker's, and "he" / "she" / "his" / "her" for the
      one person just named, in this text or, given ``people``, in the turns before it
      (``offline_pronouns``): "they", "the company" and a pronoun two people fit link to
      nothing. "We" / "our" / "us" are the speaker ("We live in Ghent", "our daughter
      Emma"), except in what a group says of itself ("We are a team", "We are based in
      Prague": no relation).
    - No relations from questions, negated or hedged sentences (not, never, n't, no
      longer, if, unless, whether, maybe, perhaps, wish, hope...): precision over recall.
      "No longer works at Acme" and "doesn't live in Paris anymore" say an end, read as
      one; "I don't like cilantro", "can't stand", "not a fan of" a dislike. A tie said
      on the way ("Did my sister Anna call?") holds whatever the sentence asserts.
    - Relative dates are read only against ``reference_time`` ("yesterday", "last week",
      "3 years ago": ``offline_relative``), and only past ones: "next week" is a plan.
      Tense is not modelled: "lived in Paris" is lives_in Paris.
    - Lower-case names are found only when ``known`` lists them; an unknown name at the
      start of a sentence is kept only with some evidence (a given name, a place, used
      capitalised elsewhere, followed by "'s", ":" or a verb such as "is").
    - A target must end its clause, or be followed by a word that starts a new phrase
      ("engaged to Priya over the weekend"): "works at Google headquarters" yields
      nothing rather than a wrong edge. Nested clauses (beyond "X, who ..., ..." and
      "X, my sister,"), passives beyond "was hired by", and lists of objects ("works at
      A and B": only A) are not parsed. Very long runs of names are capped (ten per
      list) to stay linear.

Layout: ``offline_mentions`` splits sentences and finds mentions, ``offline_rules``
holds the rule table (written in ``offline_patterns``' pattern language),
``offline_clauses`` the simpler sentences the rules also read, ``offline_dates`` the date
reader, ``offline_pronouns`` who "he" and "she" are, ``offline_words`` the word lists and
type cues (``offline_places`` the places); this module applies the rules and assembles
the ``Extraction``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from ..errors import ValidationError
from ..models import (
    SAME_TIES,
    ExtractedEntity,
    ExtractedFact,
    ExtractedRelation,
    Extraction,
    check_relation_name,
    name_key,
    relation_key,
)
from ..stores.base import KnownEntity
from ..text import has_cjk, word_count
from . import offline_words as words
from .offline_answers import AskedAbout
from .offline_clauses import negated, variants
from .offline_dates import Clauses, sentence_dates
from .offline_importance import importance, is_rule
from .offline_mentions import (
    KnownIndex,
    Mention,
    MentionFinder,
    Sentence,
    left_out,
    split_sentences,
)
from .offline_patterns import CLOSE, OPEN, PLACEHOLDER, TARGET_ENTITY, Rule, read_phrase
from .offline_pets import PetNames
from .offline_pronouns import PRONOUNS, Antecedents, followed, gender_of
from .offline_relative import reference_day
from .offline_rules import may_presuppose, rules_for
from .offline_ties import Found, age, died, kin, owned, pair, pets, several_pets
from .offline_words import Cues, category, class_of, surface_cues

_WORDS = re.compile(r"[a-z0-9']+")
_PREV_WORD = re.compile(r"(\w+)\s+$")
_TITLE = re.compile(r"\s(?:of|the|and|&|de|du|la|le|von|van)\s", re.I)  # no person's name
# Words that make "<subject> ... <verb>ing" a statement: "is working", "has been living",
# and "started working" / "began teaching", which ``_AUX`` in the rules allows too.
_AUX_WORD = re.compile(r"\b(?:is|was|am|are|were|been|started|began)\b|'m|'re|'s")
# The relation an ending handler ends: its date said is the end, not the start.
_ENDING = {"@left_job": "works_at", "@left_home": "lives_in", "@divorced": "married_to",
           "@broke_up": "dating"}  # fmt: skip
# What an end said in a sentence also ends there: the ties said on the way to the name
# ("divorced my husband Tom"), and a pet the pet reader found besides the rule's match.
_ENDS_TOO = {**SAME_TIES, "pet": ("pet",)}
# A subject right after one of these is an object of something else ("a friend of Bob
# lives in Paris" is not about Bob).
_NOT_AFTER = frozenset(
    "of with to for from at by about like than in on into onto s met saw told called "
    "visited asked meet see tell call visit ask know knows knew".split()
)
# Base verb forms fit "I"/"we"/lists, not one third-person name ("Alice's work at X").
_BASE_VERBS = frozenset(
    "work live like love enjoy adore own manage study reside hate dislike detest come hail "
    "intern".split()
)
# What a group says of itself, not of each member: "We are a team", "We are based in
# Prague" (a company's address), "our name is...", "We are dating".
_NOT_OF_A_GROUP = frozenset(
    {"is_a", "has_name", "@based", "married_to", "engaged_to", "dating", "@pair", "@age"}
)
_P_SPEAKER, _P_KNOWN, _P_RELATION = 0, 1, 3
# Relations that say little about what their subject is, so they cannot vouch for a
# tentative name ("Life is a ride", "Nature loves balance").
_WEAK = frozenset({"likes", "dislikes", "is_a"})
_PLACES_AND_EMPLOYERS = frozenset({"organization", "location"})
# The school a "junior" or a "senior" is at: "a junior at Boston University".
_SCHOOL = re.compile(r"\b(?:university|college|school|academy|institute|high|elementary|"
                     r"state|polytechnic|conservatory)\b", re.I)  # fmt: skip


@dataclass
class _Edge:
    relation: str
    source: str  # name keys
    target: str
    fact: int
    valid_at: str
    invalid_at: str
    via: str = ""


class OfflineExtractor:
    """Rule-based ``Extractor``: no model, no network, no state between calls."""

    name = "offline"
    calls = 0  # model requests made: none, ever
    # What it finds grows with the text it reads, which add() already bounds (a window
    # of max_text_chars): check_extraction's item limit is for a model's runaway answer.
    # Held to it, 300 short messages of one speaker in one add() were refused.
    bounded_by_input = True

    def extract(
        self,
        text: str,
        *,
        speaker: str = "user",
        known: Sequence[KnownEntity] = (),
        reference_time: str = "",
        people: Antecedents | None = None,
    ) -> Extraction:
        """``people``: who "he" and "she" may be, carried from the messages before this one
        and updated by it (``offline_pronouns.Antecedents``); by default, this text's own."""
        if not isinstance(text, str):
            raise ValidationError("text", f"must be a string, got {type(text).__name__}")
        if not isinstance(speaker, str):
            raise ValidationError("speaker", f"must be a string, got {type(speaker).__name__}")
        index = known if isinstance(known, KnownIndex) else KnownIndex(known)
        # Composed (NFC) first: Python's \w takes no combining mark, so "Zoe\u0301" (Zoé
        # as macOS and some keyboards write it) was read as the name "Zoe", a second
        # entity beside Zoé, and its relation was lost. The facts come out composed.
        text = unicodedata.normalize("NFC", text)
        speaker = unicodedata.normalize("NFC", speaker)
        run = _Run(MentionFinder(speaker.strip(), index), people)
        run.said_at = reference_time if isinstance(reference_time, str) else ""
        run.said_on = reference_day(run.said_at) if run.said_at else None
        return run.run(text)


class _Run:
    """The state of one ``extract`` call."""

    def __init__(self, finder: MentionFinder, people: Antecedents | None = None) -> None:
        self.finder = finder
        self.carried = people
        self.said_at = ""  # the reference time: when an end said with no date came
        self.said_on: date | None = None  # its day: what "yesterday" is counted from
        self.cues = Cues()
        self.names: dict[str, str] = {}  # name key -> the first spelling seen
        self.facts: list[ExtractedFact] = []
        self.named: list[set[str]] = []  # per fact: name keys of who it names, not the speaker
        self.edges: list[_Edge] = []
        self.antecedents: Antecedents  # he / she: who was just named (offline_pronouns)
        # A pet brought in without a name, named later (offline_pets): carried from turn
        # to turn with the people.
        self.pets = people.pets if people is not None else PetNames()
        self.asked = people.asked if people is not None else AskedAbout()  # offline_answers

    def run(self, text: str) -> Extraction:
        sentences = split_sentences(text)
        self.finder.prepare(sentences)
        carried = self.carried
        self.antecedents = carried if carried is not None else Antecedents(followed(sentences))
        self.pets.begin(self.finder.speaker)
        self.asked.begin(self.finder.speaker)
        for sentence in sentences:
            self._sentence(sentence)
        return self._finish()

    # --- one sentence --------------------------------------------------------------------

    def _sentence(self, sentence: Sentence) -> None:
        mentions = self._read(sentence)
        if self.antecedents.wanted:
            self.antecedents.after(sentence.work, mentions, self._kind, self._gender)

    def _read(self, sentence: Sentence) -> list[Mention]:
        """Find the sentence's mentions, fact and relations; give back its mentions."""
        mentions = self.finder.find(sentence)
        if self.antecedents.wanted and not PRONOUNS.isdisjoint(sentence.low):
            mentions = self.antecedents.stand_in(sentence.work, mentions, self._kind)
        found: list[Found] = []
        work = sentence.work
        kept = left_out(work, mentions, self.finder.speaker)  # None: the "I" is not left out
        mentions = mentions if kept is None else kept
        lowered = work.lower()
        self.pets.heard(lowered)
        self.asked.heard(lowered)
        # A question, a negated or a hedged sentence states no relation; only the ties it
        # takes for granted ("Did my sister Anna call?") are read from it.
        asserted = not work.rstrip().endswith("?") and not negated(lowered)
        if asserted or may_presuppose(lowered):
            parts, previous = [], 0
            for index, mention in enumerate(mentions):
                suffix = "'s" if mention.possessive else ""
                parts += [work[previous : mention.start], f"{OPEN}{index}{CLOSE}{suffix}"]
                previous = mention.end
            template = ("".join(parts) + work[previous:]).lower()
            if kept is not None:
                mentions.append(Mention(0, 0, self.finder.speaker, "speaker", tentative=True))
                template = f"{OPEN}{len(mentions) - 1}{CLOSE} {template}"
            for text in variants(template) if asserted else (template,):
                for rule in rules_for(text, len(mentions)):
                    if not asserted and not rule.presupposed:
                        continue
                    position = 0
                    while (match := rule.regex.search(text, position)) is not None:
                        position = match.start() + 1
                        found += self._apply(rule, match, text, mentions)
            if asserted:
                for owner, animals in self.pets.read(template, work, sentence.low, mentions):
                    found += pets(animals, [owner], every=True)
                found += self.asked.read(template, mentions)
                found = died(found, lowered)
        # A tentative name must earn its place in a relation that says what it is.
        found = [f for f in found if f.relation not in _WEAK or not (
            f.source.tentative or f.target.tentative)]  # fmt: skip
        used = {id(m) for f in found for m in (f.source, f.target, f.via) if m is not None}
        mentions = [m for m in mentions if not m.tentative or id(m) in used]
        said = _WORDS.findall(lowered)
        named = any(m.kind != "speaker" for m in mentions)
        # ``said`` holds Latin words only; in CJK characters count (``graphmem.text``).
        cjk = has_cjk(work)
        size = word_count(work) if cjk else len(said)
        filler = not cjk and all(w in words.FILLER for w in said)
        if not found and (filler or (size < 3 and not named)):
            return mentions
        fact = len(self.facts)
        stated = sentence_dates(work, self.said_on)
        self.facts.append(ExtractedFact(sentence.text, stated[0],
                                        memory_type="rule" if is_rule(sentence.text) else ""))  # fmt: skip
        self.named.append(set())
        for mention in mentions:
            key = self._register(mention)
            if mention.kind != "speaker":
                self.named[fact].add(key)
        lead = min((m.start for m in mentions if m.end > m.start), default=0)
        clauses: Clauses | None = None  # found once, when a relation is dated
        for item in found:
            source, target = self._register(item.source), self._register(item.target)
            # The dates of the clause that names the target, or, for a target with no place
            # in the text (a liked phrase), of the clause that names the subject; else the
            # sentence's ("Love hiking since 2010", with a left-out "I").
            placed = [m for m in (item.target, item.source) if m.end > m.start]
            if placed and clauses is None:
                clauses = Clauses(work, lead, self.said_on)
            dates = clauses.dates_at(placed[0].start) if placed else stated
            if item.ends:  # its one date is the end; with none, when it was said
                end = dates[1] or dates[0] or self.said_at
                if not end:  # no time at all: a relation with no end would read as current
                    continue
                dates = ("", end)
            for key, kind in ((source, item.source_type), (target, item.target_type)):
                if kind:
                    self.cues.add(key, kind, _P_RELATION)
            via = self._register(item.via) if item.via else ""
            self.edges.append(_Edge(item.relation, source, target, fact, *dates, via))
        return mentions

    def _kind(self, mention: Mention) -> str:
        """For ``offline_pronouns``: "person", "vague" (a name that may be one: a pet, a
        character) or "" (a place, an employer, a topic, a title such as "Lord of the
        Rings")."""
        if mention.kind == "concept" or _TITLE.search(mention.name):
            return ""
        kind = category(mention.known_type or self.cues.type_of(name_key(mention.name)))
        if not kind and any(k == "person" for k, _ in surface_cues(mention.name)):
            kind = "person"
        return kind if kind == "person" else "" if kind else "vague"

    def _gender(self, key: str) -> str:
        """What the last tie naming ``key`` says of its gender ("my sister Ann": "f")."""
        return next((g for e in reversed(self.edges) if e.target == key
                     and (g := gender_of(e.relation))), "")  # fmt: skip

    def _register(self, mention: Mention) -> str:
        key = name_key(mention.name)
        if key not in self.names:
            self.names[key] = mention.name
            if mention.kind == "concept":
                self.cues.add(key, "concept", _P_KNOWN)
            else:
                for kind, priority in surface_cues(mention.name):
                    self.cues.add(key, kind, priority)
        if mention.kind == "speaker":
            self.cues.add(key, "person", _P_SPEAKER)
        elif mention.kind == "known" and category(mention.known_type) != "":
            self.cues.add(key, mention.known_type, _P_KNOWN)
        return key

    # --- rules ---------------------------------------------------------------------------

    def _apply(
        self, rule: Rule, match: re.Match[str], template: str, mentions: list[Mention]
    ) -> list[Found]:
        groups = match.groupdict()

        def pick(group: str) -> list[Mention]:
            return [mentions[int(i)] for i in PLACEHOLDER.findall(groups.get(group) or "")]

        subjects = pick("a")
        if any(s.objective for s in subjects):
            return []
        if rule.relation in _NOT_OF_A_GROUP and any(s.plural for s in subjects):
            return []  # "We are a team", "We are based in Prague": the group, not the speaker
        if subjects:
            before = _PREV_WORD.search(template, max(0, match.start() - 30), match.start())
            if before and before.group(1) in _NOT_AFTER:
                return []
        verb = groups.get("v") or ""
        if verb.endswith("s") and not verb.endswith("ss"):
            subjects = subjects[-1:]  # "I met Bob and Alice lives in Paris": Alice only
        if verb in _BASE_VERBS and len(subjects) == 1 and subjects[0].kind != "speaker":
            return []
        if verb.endswith("ing") and not _AUX_WORD.search(
            template, match.end("a"), match.start("v")
        ):
            return []  # "Alice living in Paris" is not a statement
        if rule.relation == "@kin":
            return kin(groups, subjects or pick("x"), pick("p"), bool(subjects))
        if rule.relation == "@kin_had":
            return kin(groups, pick("x"), subjects, False)
        if rule.relation == "@pet":
            return pets(pick("x"), pick("p") or subjects, several_pets(groups))
        if rule.relation == "@pair":
            return pair(groups, subjects[0], pick("b")[0])
        if rule.relation == "@age":
            return age(groups, subjects)
        target = self._target(rule, groups, mentions)
        if target is None:
            return []
        if rule.target_type in _PLACES_AND_EMPLOYERS and target.kind in ("speaker", "concept"):
            return []  # "Dairy-free is a must for me": the speaker is no employer
        # "a small town called Bree" says what Bree is; "works for a guy named Steve" has
        # no employer in it.
        named_as = class_of(groups.get("intro") or "")
        if named_as == "person" and rule.target_type in _PLACES_AND_EMPLOYERS:
            return []
        target_type = rule.target_type or named_as
        relation, source_type = rule.relation, rule.subject_type
        if relation == "@role":
            last = re.split(r"[ -]", groups["z"])[-1]
            if last in words.NOT_JOBS:
                return []
            # "a junior at Boston University" studies there; "a senior at Deloitte" works.
            school = last in ("junior", "senior") and _SCHOOL.search(target.name) is not None
            relation = "studies_at" if last in words.STUDENT_WORDS or school else "works_at"
        elif relation == "@title":
            relation = words.TITLES.get(groups["z"], "works_at")
        elif relation == "is_a":
            source_type = class_of(target.name)
        elif relation == "@favorite":  # "my favorite thing is hiking": a liking
            kind = groups["z"].split()
            if kind[-1] in words.VAGUE_KINDS:
                return []
            liked = kind[-1] in ("thing", "things")
            relation = "likes" if liked else relation_key("_".join(["favorite", *kind]))
        ends = relation in _ENDING
        relation = _ENDING.get(relation, relation)
        via = pick("f")[0] if groups.get("f") else None
        return [Found(relation, s, target, source_type, target_type, via, ends)
                for s in subjects if name_key(s.name) != name_key(target.name)]  # fmt: skip

    @staticmethod
    def _target(
        rule: Rule, groups: dict[str, str | None], mentions: list[Mention]
    ) -> Mention | None:
        if groups.get("b"):
            at = int(PLACEHOLDER.findall(groups["b"])[0])
            if groups.get("own"):
                if mentions[at].kind == "speaker":
                    return None  # "my" is no place
                # "McDonald's", "St. Luke's Hospital": the whole name (once: a second
                # rule may match the same words)
                if "'s" not in mentions[at].name:
                    mentions[at] = owned(mentions[at], groups.get("inst") or "")
            return mentions[at]
        rest = groups.get("rest") or ""
        entity = TARGET_ENTITY.match(rest)
        if entity and not rule.strict:
            return mentions[int(entity.group(1))]
        phrase = read_phrase(rest, rule.phrase, rule.strict)
        return Mention(0, 0, phrase, "concept") if phrase else None

    # --- the result ----------------------------------------------------------------------

    def _resolve(self, edge: _Edge) -> str:
        """The relation a handler edge stands for, now that every type cue is in; "" = none."""
        if edge.relation == "@moved":
            # The kind of place left decides: an employer -> works_at, a place -> lives_in.
            kind = category(self.cues.type_of(edge.via)) if edge.via else ""
            if kind not in _PLACES_AND_EMPLOYERS:
                kind = category(self.cues.type_of(edge.target))
            if kind == "person" and ("location", words.PLACE) in surface_cues(
                self.names[edge.target]
            ):
                kind = "location"  # "moved to Austin": no one moves to a person
            if kind not in _PLACES_AND_EMPLOYERS:
                return "moved_to"
            self.cues.add(edge.target, kind, _P_RELATION)
            return "works_at" if kind == "organization" else "lives_in"
        person = category(self.cues.type_of(edge.source)) == "person"
        if edge.relation == "@based":
            return "lives_in" if person else "located_in"
        if edge.relation == "@located":  # "Alice is in Paris" may be a visit
            return "" if person else "located_in"
        return edge.relation

    def _end_ties(self) -> None:
        """ "I divorced my husband Tom": the tie said on the way to the name ended with the
        marriage, so it is no current husband. "My dog Rex passed away": the pet that two
        readings found ended for both."""
        ended = {(e.fact, e.source, e.target, tie): e.invalid_at for e in self.edges
                 if e.invalid_at and not e.valid_at for tie in _ENDS_TOO.get(e.relation, ())}  # fmt: skip
        if not ended:
            return
        for edge in self.edges:
            end = ended.get((edge.fact, edge.source, edge.target, edge.relation))
            if end and not edge.invalid_at:
                edge.invalid_at = end
                if edge.valid_at >= end:  # the date said was the end's, not the tie's start
                    edge.valid_at = ""

    def _finish(self) -> Extraction:
        for edge in self.edges:
            edge.relation = self._resolve(edge)
        self._end_ties()
        related = {edge.fact for edge in self.edges if edge.relation}
        for i, fact in enumerate(self.facts):
            people = sum(category(self.cues.type_of(k)) == "person" for k in self.named[i])
            fact.importance = importance(fact.text, people=people, dated=bool(fact.valid_at),
                                         related=i in related)  # fmt: skip
        out = Extraction(facts=self.facts)
        out.entities = [
            ExtractedEntity(name, self.cues.type_of(key)) for key, name in self.names.items()
        ]
        seen: set[tuple[str, str, str, int]] = set()
        for edge in self.edges:
            signature = (edge.source, edge.relation, edge.target, edge.fact)
            if not edge.relation or signature in seen:
                continue
            seen.add(signature)
            out.relations.append(ExtractedRelation(
                self.names[edge.source], check_relation_name(edge.relation),
                self.names[edge.target], edge.fact, edge.valid_at, edge.invalid_at))  # fmt: skip
        return out
