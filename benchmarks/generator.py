"""A seeded generator of memory scopes whose right answers are known by construction.

Each scope holds people, organisations and cities, written as short facts:
``"Ann Keller lives in Lyon."``, ``"Ann Keller's brother is Ben Ortiz."``,
``"Blue Harbor Labs is based in Porto."``, plus filler (hobbies, pets, languages) up to the
requested size. Every fact has a source id ``"<scope>/f<n>"``, so whichever memory graphmem
returns, its scope and its role in a question can be checked without trusting graphmem.

Questions, each with gold source ids:
- ``hop1``: "Where does Ann Keller live?" -> the lives-in fact;
- ``hop2``: "Where does Ann Keller's brother live?" -> relation fact + lives-in fact;
- ``hop3``: "In which city is the company that Ann Keller's manager works for based?"
  -> relation + works-at + based-in facts;
- ``update``: a later fact supersedes an earlier one ("... moved from Lyon to Porto");
  gold is the newer fact and the older one is remembered as ``superseded``;
- ``unanswerable``: a relation the person does not have, or a person who exists only in
  another scope (names repeat across scopes on purpose, so leaks would be found).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

FIRST = (
    "Ann Ben Cara Dan Eva Finn Gina Hugo Ida Jon Kira Leo Mia Nils Olga Paul Rosa Sam Tara "
    "Uma Vera Will Xena Yuri Zoe Alba Bram Cleo Dirk Elin Faye Gus Hana Ivo Jade Karl Lena "
    "Milo Nora Otto Pia Quin Rhea Sven Tess Ugo Vito Wren Yara Zeno Abel Bea Cyril Dora Emil "
    "Flor Gale Hedda Igor Juno"
).split()
LAST = (
    "Keller Ortiz Novak Brandt Silva Moreau Larsen Quinn Rossi Haas Duarte Weber Lindqvist "
    "Petrov Okafor Tanaka Varga Fischer Costa Berg Marsh Nakamura Ibarra Holm Kovacs Laine "
    "Mendes Strand Yilmaz Achebe Dahl Ferro Grant Hale Janssen Kaur Lund Maddox Nygaard Ruiz "
    "Sato Toivonen Ueda Vidal Wolfe Zhou Arden Bianchi Crane Eklund"
).split()
CITIES = (
    "Lyon Porto Leipzig Ghent Bergen Turin Kraków Malmö Bilbao Graz Tampere Utrecht Aarhus "
    "Brno Split Cork Basel Nantes Gdańsk Seville Bologna Lille Bremen Tartu Riga Vilnius "
    "Ljubljana Zagreb Valencia Dresden Geneva Antwerp Galway Granada Innsbruck Salzburg Bordeaux"
).split()
ORG_A = "Blue Red Green Silver Northern Bright Quiet Iron Golden Swift Clear Deep".split()
ORG_B = "Harbor Stone Field River Peak Forge Cedar Lantern Meadow Signal Orbit Delta".split()
ORG_C = "Labs Systems Works Partners Logistics Studio Foods Robotics Energy Health".split()
RELATIONS = ("brother", "sister", "manager", "friend", "neighbour", "cousin", "mentor")
HOBBIES = "chess climbing sailing pottery cycling baking birdwatching rowing jazz fencing".split()
PETS = "cat dog parrot rabbit tortoise ferret".split()
PET_NAMES = "Miso Pepper Biscuit Luna Otis Juniper Mango Pixel Clover Ziggy".split()
LANGUAGES = "Portuguese Finnish Swahili Korean Dutch Greek Turkish Polish Hindi Welsh".split()
KINDS = ("hop1", "hop2", "hop3", "update", "unanswerable")
_START = datetime(2024, 1, 1, 9, 0)


@dataclass(frozen=True)
class SyntheticFact:
    source_id: str
    scope: str
    text: str
    timestamp: str


@dataclass(frozen=True)
class SyntheticQuestion:
    scope: str
    kind: str
    text: str
    gold: tuple[str, ...]
    superseded: str = ""  # for updates: the older fact that must not outrank the gold


@dataclass
class SyntheticData:
    scopes: list[str]
    facts: list[SyntheticFact] = field(default_factory=list)
    questions: list[SyntheticQuestion] = field(default_factory=list)


class _Scope:
    """Builds one scope's facts, keeping the indexes that questions are drawn from."""

    def __init__(self, name: str, budget: int, rng: random.Random) -> None:
        self.name, self.rng = name, rng
        self.facts: list[SyntheticFact] = []
        people_count = max(8, budget // 5)
        capacity = len(FIRST) * (len(FIRST) - 1) * len(LAST)
        if people_count > capacity:
            raise ValueError(f"{budget} facts per scope needs more names than {capacity}")
        names: set[str] = set()
        while len(names) < people_count:
            first, last = rng.choice(FIRST), rng.choice(LAST)
            # A second given name only once plain names get crowded: small scopes read
            # naturally, big ones still get distinct people. Not a middle initial: the
            # offline extractor reads "Ann K. Keller" as a sentence break ("Ann K", "Keller"),
            # and this suite measures retrieval, not sentence splitting.
            second = rng.choice([n for n in FIRST if n != first]) if people_count > 1500 else ""
            names.add(" ".join(part for part in (first, second, last) if part))
        self.people = sorted(names)
        rng.shuffle(self.people)
        orgs = {
            f"{rng.choice(ORG_A)} {rng.choice(ORG_B)} {rng.choice(ORG_C)}"
            for _ in range(max(3, people_count // 10))
        }
        self.orgs = sorted(orgs)
        self.lives: dict[str, str] = {}
        self.works: dict[str, str] = {}
        self.employer: dict[str, str] = {}
        self.based: dict[str, str] = {}
        self.relations: dict[tuple[str, str], tuple[str, str]] = {}  # (person, rel) -> (other, id)
        self.updates: list[tuple[str, str, str, str]] = []  # (person, new id, old id, kind)
        self.chains: list[tuple[str, str, str, str]] = []  # (person, rel, other, fact id)
        self.residents: list[str] = []  # people whose lives-in fact is still current

    def add(self, text: str, when: datetime) -> str:
        source_id = f"{self.name}/f{len(self.facts)}"
        self.facts.append(SyntheticFact(source_id, self.name, text, when.isoformat()))
        return source_id

    def build(self, budget: int) -> None:
        rng, clock = self.rng, _START
        for org in self.orgs:
            self.based[org] = self.add(f"{org} is based in {rng.choice(CITIES)}.", clock)
        updated = set(self.people[: max(1, len(self.people) // 10)])
        for person in self.people:
            clock += timedelta(minutes=7)
            city, org = rng.choice(CITIES), rng.choice(self.orgs)
            self.lives[person] = self.add(f"{person} lives in {city}.", clock)
            self.works[person] = self.add(f"{person} works at {org}.", clock)
            self.employer[person] = org
            if person in updated:
                later = clock + timedelta(days=200)
                if rng.random() < 0.5:
                    new_city = rng.choice([c for c in CITIES if c != city])
                    new = self.add(f"{person} moved from {city} to {new_city}.", later)
                    self.updates.append((person, new, self.lives.pop(person), "lives"))
                else:
                    new_org = rng.choice([o for o in self.orgs if o != org] or [org])
                    new = self.add(f"{person} left {org} and now works at {new_org}.", later)
                    self.updates.append((person, new, self.works.pop(person), "works"))
        stable = [p for p in self.people if p in self.lives and p in self.works]
        for person in self.people:
            relation, other = rng.choice(RELATIONS), rng.choice(stable)
            if other != person:
                fact = self.add(f"{person}'s {relation} is {other}.", clock)
                self.relations[(person, relation)] = (other, fact)
        fillers = (
            lambda p: f"{p} enjoys {rng.choice(HOBBIES)}.",
            lambda p: f"{p} has a {rng.choice(PETS)} named {rng.choice(PET_NAMES)}.",
            lambda p: f"{p} speaks {rng.choice(LANGUAGES)}.",
            lambda p: f"{p} was born in {rng.randrange(1950, 2004)}.",
        )
        while len(self.facts) < budget:
            clock += timedelta(minutes=3)
            self.add(rng.choice(fillers)(rng.choice(self.people)), clock)
        self.chains = [(p, r, o, f) for (p, r), (o, f) in self.relations.items()]
        self.residents = list(self.lives)

    def question(self, kind: str, strangers: list[str]) -> SyntheticQuestion | None:
        rng = self.rng
        if kind == "hop1":
            person = rng.choice(self.residents)
            return SyntheticQuestion(
                self.name, kind, f"Where does {person} live?", (self.lives[person],)
            )
        if kind in ("hop2", "hop3") and self.chains:
            person, relation, other, link = rng.choice(self.chains)
            if kind == "hop2":
                return SyntheticQuestion(
                    self.name,
                    kind,
                    f"Where does {person}'s {relation} live?",
                    (link, self.lives[other]),
                )
            employer = self.employer[other]
            return SyntheticQuestion(
                self.name,
                kind,
                f"In which city is the company that {person}'s {relation} works for based?",
                (link, self.works[other], self.based[employer]),
            )
        if kind == "update" and self.updates:
            person, new, old, what = rng.choice(self.updates)
            text = (
                f"Where does {person} live now?"
                if what == "lives"
                else (f"Where does {person} work now?")
            )
            return SyntheticQuestion(self.name, kind, text, (new,), superseded=old)
        if kind == "unanswerable":
            if strangers and rng.random() < 0.5:
                return SyntheticQuestion(
                    self.name, kind, f"Where does {rng.choice(strangers)} live?", ()
                )
            person = rng.choice(self.people)
            missing = [r for r in RELATIONS if (person, r) not in self.relations]
            return SyntheticQuestion(
                self.name, kind, f"Where does {person}'s {rng.choice(missing)} live?", ()
            )
        return None


def generate(
    n_facts: int, n_scopes: int = 10, questions_per_kind: int = 200, seed: int = 0
) -> SyntheticData:
    """``n_facts`` facts over ``n_scopes`` scopes and ``questions_per_kind`` of each kind."""
    if n_facts < n_scopes * 20:
        raise ValueError(f"--facts {n_facts} is too small for {n_scopes} scopes (20 each)")
    rng = random.Random(seed)
    scopes = [f"scope-{number:03d}" for number in range(n_scopes)]
    builders = []
    for number, name in enumerate(scopes):
        budget = n_facts // n_scopes + (1 if number < n_facts % n_scopes else 0)
        builder = _Scope(name, budget, random.Random(rng.random()))
        builder.build(budget)
        builders.append(builder)
    data = SyntheticData(scopes, [fact for b in builders for fact in b.facts])
    # People of other scopes who are absent from this one: asking about them must return
    # nothing of theirs (the sample of 50 per scope keeps this cheap at 1M facts).
    strangers = {
        b.name: sorted({p for o in builders if o is not b for p in o.people[:50]} - set(b.people))
        for b in builders
    }
    for kind in KINDS:
        made = attempts = 0
        while made < questions_per_kind and attempts < questions_per_kind * 10:
            attempts += 1
            builder = builders[rng.randrange(n_scopes)]
            question = builder.question(kind, strangers[builder.name])
            if question is not None:
                data.questions.append(question)
                made += 1
    return data
