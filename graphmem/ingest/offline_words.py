"""Word lists behind the offline extractor, and the type guesses built on them.

Small on purpose. Each list is a precision device, not a gazetteer: a capitalised word
is treated as a name unless a list says otherwise, and a type is guessed from the
strongest cue available (see ``offline.py``). Everything is lower case; lookups use
``str.casefold()`` on one token.
"""

from __future__ import annotations

from functools import lru_cache

# Places named without any cue (read here by ``surface_cues``).
from .offline_places import PLACES, PLACES_MULTI


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Capitalised only because they start a sentence, or pronouns/titles that never name
# an entity by themselves. A span never starts or continues with one of these.
STOP = _words(
    """
    i me my mine myself we us our ours you your yours he him his she her hers it its
    they them their theirs this that these those the a an and but or nor so yet if when
    while then because since as at in on for from to of with by about after before
    during into over under also just still not no yes maybe perhaps well oh ah aw wow
    hey hi hello thanks thank ok okay sure great good nice cool awesome yeah yep nope
    lol haha hahaha omg btw please sorry congrats congratulations what who whom whose
    where why how which whatever whoever there here today yesterday tomorrow tonight
    now last next every each all some any many much most more few both either neither
    one two three do does did done is are was were be been being have has had can
    could will would should might must let lets anyway actually really definitely
    absolutely honestly finally recently lately sometimes always never often usually
    everyone everything someone something anyone anything nothing nobody none having
    getting going speaking talking thinking looking mom mum dad mommy daddy grandma
    grandpa dear love guys folks other another such same own very too again once
    though although unless until whether wait look listen see guess true right glad
    happy hope wish imagine speaking ceo cto cfo coo vp phd mba tv ok lmao rofl fyi
    asap diy eh hmm um uh bye goodbye cheers welcome christmas easter
    """
)

MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6,
    "july": 7, "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
    "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip

WEEKDAYS = _words(
    "monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur "
    "thurs fri sat sun weekend"
)

# Dates are not entities: "May" and "Friday" would otherwise become nodes.
TIME_WORDS = frozenset(MONTHS) | WEEKDAYS

HONORIFICS = _words("mr mrs ms miss mx dr prof professor sir dame lady lord rev coach captain")
# Abbreviations whose full stop stays inside a name: "Dr. Smith", "St. Mary's Hospital".
ABBREVIATIONS = HONORIFICS | _words("st mt ft")

# Lower-case words that may sit inside a capitalised name: "Bank of America".
CONNECTORS = _words("of the de del della da van von der den la le du")

# The last word of a name that makes it an organisation: "Acme Corp", "Boston University".
ORG_SUFFIXES = _words(
    """
    inc corp corporation co company ltd llc llp plc gmbh ag sa group bank university
    college school institute academy hospital clinic labs lab laboratories technologies
    technology systems solutions software foundation association society agency
    airlines airways ministry department club studios studio records press partners
    holdings ventures capital media networks motors pharmaceuticals industries
    enterprises consulting council committee church museum team diner cafe restaurant
    bar pub shop store bakery market salon gym
    """
)
# The first word of "University of X" style names.
ORG_PREFIXES = _words("university bank college institute department ministry church museum")

LOC_SUFFIXES = _words(
    """
    city town village county state province island islands river lake mountain
    mountains valley bay beach park street avenue road boulevard square district region
    coast peninsula desert forest falls canyon heights hills
    """
)
LOC_PREFIXES = _words("mount mt lake port fort cape isle")

# Common given names; enough to type "Alice" and "Caroline" as people without a cue.
FIRST_NAMES = _words(
    """
    alice bob carol dave david eve frank grace heidi ivan judy mallory oscar peggy
    trent victor walter anna emma olivia ava sophia isabella mia charlotte amelia
    harper evelyn abigail emily elizabeth sofia ella madison scarlett victoria aria
    grace chloe camila penelope riley layla lillian nora zoey mila aubrey hannah lily
    addison eleanor natalie luna savannah brooklyn leah zoe stella hazel ellie paisley
    audrey skylar violet claire bella aurora lucy sarah caroline melanie maria mary
    patricia jennifer linda barbara susan jessica karen nancy lisa betty margaret
    sandra ashley kimberly donna michelle dorothy rebecca laura helen amy kathleen
    angela shirley anna brenda pamela nicole samantha katherine christine debra
    deborah rachel catherine carolyn janet ruth julie joanna gina jolene tina rose
    james john robert michael william richard joseph thomas charles christopher daniel
    matthew anthony mark donald steven paul andrew joshua kenneth kevin brian george
    timothy ronald edward jason jeffrey ryan jacob gary nicholas eric jonathan stephen
    larry justin scott brandon benjamin samuel gregory alexander patrick jack dennis
    jerry tyler aaron jose adam nathan henry douglas zachary peter kyle noah ethan
    jeremy walter christian keith roger terry austin sean gerald carl harold dylan
    arthur lawrence jordan jesse bryan billy bruce gabriel joe logan albert willie
    alan eugene russell vincent philip bobby johnny bradley roy ralph louis randy
    wayne liam lucas mason oliver elijah sam nate tim evan calvin jon tom tommy mike
    chris alex ben max leo jake luke nick dan tony jim bill steve fred ted ann jane
    kate beth amy meg jen kim sue pat lee ali omar ahmed mohammed fatima aisha yuki
    hiro wei mei li chen raj priya arjun ananya carlos juan miguel luis sofia diego
    lucia pierre marie jean hans klaus ingrid sven olga ivan dmitri
    """
)

# Family and social ties: "Bob is Alice's brother" -> Alice -[brother]-> Bob.
KIN_WORDS = (
    "mother-in-law father-in-law sister-in-law brother-in-law son-in-law daughter-in-law "
    "grandmother grandfather granddaughter grandson grandchild grandma grandpa "
    "stepmother stepfather stepson stepdaughter stepbrother stepsister brother sister "
    "sibling mother mom mum mommy father dad daddy parent wife husband spouse partner "
    "fiancee fiance boyfriend girlfriend son daughter child kid uncle aunt nephew niece "
    "cousin friend buddy pal bestie colleague coworker co-worker boss manager "
    "supervisor mentor roommate flatmate housemate neighbor neighbour classmate teammate "
    "therapist landlord teacher coach doctor tutor student"
).split()
# Pets: "my dog Biscuit" -> speaker -[pet]-> Biscuit. The plural forms "s"/"es" do not
# make are listed as they are spelt.
PET_WORDS = (
    "dog puppy pup cat kitten kitty snake tarantula spider hamster gerbil rabbit bunny "
    "parrot budgie bird canary goldfish fish turtle tortoise horse pony lizard gecko "
    "iguana ferret pig chinchilla pet puppies kitties bunnies ponies "
    # Breeds said in the animal's place: "we adopted a golden retriever, his name is
    # Biscuit", "my beagle Max". Not "lab" (a laboratory) nor "shepherd".
    "retriever labrador poodle beagle husky huskies terrier corgi bulldog pug dachshund "
    "chihuahua collie spaniel rottweiler greyhound labradoodle goldendoodle"
).split()
# "My favorite part was the ending": a favorite of something unsaid, no relation.
VAGUE_KINDS = _words("part parts one ones bit bits way ways kind type sort moment memory time")
# What follows a saint's or a founder's name: "St. Luke's hospital", "Mary's school".
INSTITUTIONS = _words(
    "hospital church school college university cathedral chapel clinic academy infirmary"
)
PET_PLURALS = _words("puppies kitties bunnies ponies")
KIN_MODIFIERS = _words(
    "older younger little big baby twin elder eldest youngest oldest best ex new old close dear"
)
# Modifiers that change the tie, so they stay in the relation name ("best_friend").
KIN_KEEP = _words("best ex")
KIN_SYNONYMS = {
    "mom": "mother", "mum": "mother", "mommy": "mother", "dad": "father", "daddy": "father",
    "grandma": "grandmother", "grandpa": "grandfather", "kid": "child", "buddy": "friend",
    "pal": "friend", "bestie": "best_friend", "coworker": "colleague",
    "co-worker": "colleague", "neighbour": "neighbor", "flatmate": "roommate",
    "housemate": "roommate", "fiancee": "fiance",
}  # fmt: skip
# "Alice and Bob are friends": the plural noun and the relation it stands for.
PAIR_WORDS = {
    "friends": "friend", "siblings": "sibling", "colleagues": "colleague",
    "coworkers": "colleague", "co-workers": "colleague", "cousins": "cousin",
    "neighbors": "neighbor", "neighbours": "neighbor", "roommates": "roommate",
    "classmates": "classmate", "partners": "partner", "married": "married_to",
    "engaged": "engaged_to", "dating": "dating",
}  # fmt: skip

# "X is a student at Y" means studying there, not working there.
STUDENT_WORDS = _words("student undergrad undergraduate freshman sophomore postdoc phd")
# "X is a regular at Y" says nothing about employment.
NOT_JOBS = _words(
    "regular guest customer visitor patient member fan client tourist must part way bit lot"
)
# "X is the CEO of Y" -> which relation.
TITLES = {"founder": "founded", "co-founder": "founded", "cofounder": "founded", "owner": "owns"}

# Targets of "X is a ..." that describe nothing: "I'm a bit tired", "it's a lot".
BLAND = _words(
    """
    lot bit little few couple great good bad nice big huge real total very really such
    kind sort type part way while long pleasure blast must fan member friend mess
    """
)
PERSON_CLASS = _words(
    """
    teacher nurse doctor engineer developer programmer lawyer artist painter writer
    author student musician singer dancer chef cook designer scientist researcher
    professor mother father mom dad parent accountant architect photographer
    journalist pilot farmer firefighter officer soldier veteran therapist counselor
    volunteer athlete actor actress manager entrepreneur guy man woman girl boy lady
    gentleman person kid child dude
    """
)
ORG_CLASS = _words(
    "company startup firm bank business corporation nonprofit charity university school "
    "college organization organisation brand agency band"
)
LOC_CLASS = _words("city town country village state island region neighborhood place")

# Past forms of the verbs the relation rules know, which a chat line opens with when it
# leaves its "I" out ("Moved to Denver"), and a second clause with when it leaves its
# subject out ("Alice got a job at Acme and moved to Paris"). Base and "-ing" forms are
# not here: "Join Acme today!" is an imperative, "Living in Austin is..." a subject.
# Nor born / raised: "Born in Lyon, Ann moved..." is about Ann. Nor "wed", which opens
# a note as Wednesday ("Wed: dentist at 3").
LEFT_OUT_VERBS = (
    "got started began joined worked taught landed took found accepted founded co-founded "
    "cofounded owned managed headed studied graduated enrolled grew lived settled moved "
    "relocated switched transferred left quit married dated been became"
).split()
# Present forms of the same verbs, read only in a clause that has a subject before it:
# "Alice works at Acme and lives in Paris", "I work at Acme and live in Paris". Opening a
# line with no subject they would be imperatives ("Work at Acme!"), so never there.
CLAUSE_VERBS = (
    "works work lives live teaches teach studies study manages manage owns own leads lead "
    "heads head resides reside"
).split()
# An adverb that may come before such a verb: "Just got hired", "and then moved".
LEFT_OUT_ADVERBS = (
    "just finally recently so and then also actually officially already newly happily "
    "originally later eventually now"
).split()

# First words of a liked/is-a phrase that are not things: "I love it", "I love going".
PHRASE_STOP = _words(
    """
    it that this them him her you us me those these what how when where why who which
    whatever everything anything something nothing everyone anyone someone to being
    having getting going doing seeing knowing hearing feeling making taking trying
    spending so very too much lots more most not no all both makes helps keeps brings
    gives gets takes feels seems means
    """
)
# Words that end a phrase: "hiking in the mountains" -> "hiking".
PHRASE_BREAK = _words(
    """
    and or but with because when while so to in on at for of about since from that
    which who too very lately now these days more than as if like together every all
    sometimes though anyway even really much there here yesterday today tonight
    tomorrow again also just still is was are were be been the my his her their our
    your its this that a an i you he she we they it
    """
)
DETERMINERS = _words("the a an some")
# Heads too vague to be a liked thing: "I love the way...", "I love the energy".
ABSTRACT = _words(
    """
    way feeling feelings idea thought fact energy vibe vibes atmosphere rush connection
    support moment moments process sound look smell taste result results part thing
    things stuff time times day days people experience
    """
)

# Fillers that make a sentence carry nothing ("Thanks so much!").
FILLER = _words(
    """
    hi hey hello thanks thank you so much lol haha hahaha ok okay yes no yeah yep nope
    wow cool great awesome nice sure bye goodbye see ya oh ah aw omg good night morning
    cheers congrats congratulations that's that is sounds amazing too totally true
    """
)


# --- types ---------------------------------------------------------------------------------

# How other extractors and users spell the three types the offline rules reason about.
_FAMILIES = {
    "person": _words("person people human user individual character"),
    "organization": _words(
        "organization organisation org company business employer school university "
        "institution team band corporation"
    ),
    "location": _words("location place city country gpe region state town area"),
}
_GENERIC = _words("thing other entity unknown none")
# Surface cues are stronger than a relation's hint, given names and places weaker.
SURFACE, GIVEN_NAME, PLACE = 2, 4, 5


# Cached, as is ``surface_cues``: both are asked again for every mention of a name or type.
@lru_cache(maxsize=1024)
def category(kind: str) -> str:
    """``"Company"`` -> ``"organization"``; "" for types that say nothing ("thing")."""
    lowered = kind.casefold().strip()
    if not lowered or lowered in _GENERIC:
        return ""
    return next((family for family, names in _FAMILIES.items() if lowered in names), lowered)


def class_of(noun_phrase: str) -> str:
    """What "X is a <noun phrase>" says about X: "a nurse" -> person, "a startup" -> organization."""
    head = noun_phrase.split()[-1] if noun_phrase.split() else ""
    for family, nouns in (("person", PERSON_CLASS), ("organization", ORG_CLASS),
                          ("location", LOC_CLASS)):  # fmt: skip
        if head in nouns:
            return family
    return ""


@lru_cache(maxsize=1 << 14)
def surface_cues(name: str) -> tuple[tuple[str, int], ...]:
    """Type hints a name carries by itself: "Acme Corp", "University of X", "Dr. Smith"."""
    tokens = [t.casefold().rstrip(".") for t in name.split()]
    if not tokens:
        return ()
    out: list[tuple[str, int]] = []
    if len(tokens) > 1:
        if tokens[-1] in ORG_SUFFIXES or (tokens[0] in ORG_PREFIXES and "of" in tokens):
            out.append(("organization", SURFACE))
        if tokens[-1] in LOC_SUFFIXES or tokens[0] in LOC_PREFIXES:
            out.append(("location", SURFACE))
        if tokens[0] in HONORIFICS:
            out.append(("person", SURFACE))
    if tokens[0] in FIRST_NAMES:
        out.append(("person", GIVEN_NAME))
    if " ".join(tokens) in PLACES or " ".join(tokens) in PLACES_MULTI:
        out.append(("location", PLACE))
    return tuple(out)


class Cues:
    """Type evidence per entity key: the strongest cue (lowest number) wins, the first on ties."""

    def __init__(self) -> None:
        self._best: dict[str, tuple[int, int, str]] = {}
        self._seen = 0

    def add(self, key: str, kind: str, priority: int) -> None:
        self._seen += 1
        current = self._best.get(key)
        if current is None or priority < current[0]:
            self._best[key] = (priority, self._seen, kind)

    def type_of(self, key: str) -> str:
        best = self._best.get(key)
        return best[2] if best else "other"
