"""The relation rules of the offline extractor, kept as data, in table order.

Each rule is written in the pattern language of ``offline_patterns`` ("<PRE>" a subject
and its auxiliaries, "<O>" a target, "<END>" where a target ends...) and names what it
means: a relation, or an ``@handler`` that ``offline.py`` resolves. ``rules_for`` picks
the rules a sentence's words can fit.
"""

from __future__ import annotations

from functools import lru_cache

from .offline_patterns import CUE_RUN, Rule, expand
from .offline_words import KIN_WORDS, PET_WORDS

_FAVORITE = r"(?:(?:all-time|all\s+time|absolute|very|current|new)\s+)?favou?rite"


def _rule(
    relation: str, pattern: str, subject: str = "", target: str = "", cue: str = "", **kw
) -> Rule:
    pattern = expand(pattern)
    cues = frozenset(cue.split())
    if any(c not in pattern.replace("\\", "") or not CUE_RUN.fullmatch(c) for c in cues):
        raise ValueError(f"cue not a-z or not in rule pattern {pattern!r}: {cue!r}")
    return Rule(relation, pattern, subject, target, cues=cues, **kw)


_KIN_CUE = " ".join(KIN_WORDS)
_PET_CUE = " ".join(PET_WORDS)
_NOT_ENDED = "".join(rf"(?<!\b{verb} )" for verb in (
    "lost lose loses losing quit quits quitting left leave leaves leaving miss missed "
    "misses missing former previous".split()))  # fmt: skip

# A home said on its way out: "sold my house in Denver", "miss my flat in London".
_NOT_HOME = _NOT_ENDED + "".join(rf"(?<!\b{verb} )" for verb in (
    "sold sell sells selling renting rent rents rented vacated out".split()))  # fmt: skip

P, ORG, LOC = "person", "organization", "location"

RULES: tuple[Rule, ...] = (
    _rule("works_at", r"<PRE>\s+(?P<v>works|worked|work|working|interns|interned|intern|"
          r"interning)(?:\s+as\s+an?\s+[a-z]+(?:\s+[a-z]+)?)?(?:\s+(?:remotely|full-time|"
          r"part-time|from\s+home))?(?:\s+(?:in|on)\s+(?:the\s+|an?\s+)?(?:<E>|[a-z-]+)"
          r"(?:\s+[a-z-]+)?)?<ADV>\s+(?:at|for)\s+<O><END>", P, ORG, cue="work intern"),
    _rule("works_at", r"<PRE>\s+(?:got|took|landed|found|started|accepted|has|have|had)\s+"
          r"(?:an?|his|her|their|<E>'s)\s+(?:new\s+|first\s+|dream\s+)?(?:job|position|role|"
          r"internship)\s+(?:at|with)\s+<O><END>", P, ORG, cue="job position role internship"),
    # Said on the way: "moved to Seattle for a new job at Amazon", "started at Google as an
    # engineer" (the "as" keeps out "the walk started at Central Park").
    _rule("works_at", r"<PRE>\s+(?:moved|moves|relocated|relocates|came|comes)\s+(?:back\s+)?"
          r"(?:(?:to\s+(?:the\s+)?<E>|here|there)\s+)?for\s+(?:an?|the|his|her|their|<E>'s)\s+"
          r"(?:new\s+)?(?:job|position|role|internship)\s+(?:at|with)\s+<OP><END>", P, ORG,
          cue="job position role internship"),
    _rule("works_at", r"<PRE>\s+(?:started|starts|began|begins)\s+at\s+<OP>\s+as\s+(?:an?|the)"
          r"\s+[a-z]", P, ORG, cue="start began begin"),
    _rule("works_at", r"<PRE>\s+(?:hired|employed|recruited|promoted)\s+(?:by|at)\s+<O><END>", P,
          ORG, cue="hired employed recruited promoted"),
    # "I just got promoted to senior engineer at Stripe", "hired as a nurse at Mercy".
    _rule("works_at", r"<PRE>\s+(?:promoted\s+to|hired\s+as|employed\s+as)\s+(?:an?\s+|the\s+)?"
          r"(?:[a-z-]+\s+){1,3}(?:at|by|with)\s+<OP><END>", P, ORG, cue="promoted hired employed"),
    # Said on the way to something else: "my boss at Google wants me to relocate", "my
    # shift at Starbucks ran late". A verb may follow the employer here. Not after "met",
    # "with", "from"... (``offline._NOT_AFTER``): "met my boss at Starbucks" is a place;
    # nor after "lost", "quit"...: "lost my job at Door Dash" is a job no more.
    # "My team at Google is launching...", "my students at Lincoln High are amazing".
    _rule("works_at", _NOT_ENDED + r"(?P<a><E>)'s\s+(?:new\s+)?(?:boss|bosses|manager|supervisor|"
          r"co-?workers?|colleagues?|shift|job|internship|office|team|department|students|"
          r"patients|clients|customers)\s+(?:at|over\s+at)\s+<OP>(?:<END>|<THEN_VERB>)", P, ORG,
          cue="boss manager supervisor worker colleague shift job intern office team department "
          "students patients clients customers"),
    # "My classmates at Yale are brilliant", "my professor at MIT is strict".
    _rule("studies_at", _NOT_ENDED + r"(?P<a><E>)'s\s+(?:new\s+)?(?:classmates?|professors?|"
          r"finals|dorm|major|thesis\s+advisor)\s+(?:at|over\s+at)\s+<OP>(?:<END>|<THEN_VERB>)",
          P, ORG, cue="classmate professor finals dorm major thesis"),
    # A job or a home that ended: "retired from Boeing in 2019", "I quit my job at Acme",
    # "got laid off from Meta", "no longer lives in Paris". The date said is the end; with
    # none, the time it was said (``offline.py``). A bare "left Google" or "quit Twitter"
    # is not one: leaving a place or an app is no job's end.
    _rule("@left_job", r"<PRE>\s+(?:retired|retires|resigned|resigns|stepped\s+down)\s+from\s+"
          r"<OP><END>", P, ORG, cue="retire resign stepped"),
    _rule("@left_job", r"<PRE>\s+(?:quit|quits|left|leaves|lost|loses)\s+(?:<E>'s|the|an?|his|her|"
          r"their|our)\s+"
          r"(?:(?:old|former|full-time|part-time|day|first|teaching|nursing|office|retail)\s+)?"
          r"(?:job|position|role|internship|gig|career)\s+(?:at|with)\s+<OP><END>", P, ORG,
          cue="job position role intern gig career"),
    _rule("@left_job", r"<PRE>\s+(?:laid\s+off|fired|let\s+go|sacked)\s+(?:from|by)\s+<OP>"
          r"<END>", P, ORG, cue="laid fired let sacked"),
    _rule("@left_job", r"<PRE>\s+(?:stopped|stops|quit|quits)\s+working\s+(?:at|for)\s+<OP>"
          r"<END>", P, ORG, cue="working"),
    _rule("@left_job", r"<S><ADV>\s+no\s+longer\s+(?:works?|working)\s+(?:at|for)\s+<OP>"
          r"<END>", P, ORG, cue="longer"),
    _rule("@left_job", r"<S><ADV>(?:\s+(?:do|does|did)n't|'m\s+not|\s+(?:am|is|are)\s+not)\s+"
          r"(?:work|working)\s+(?:at|for)\s+<OP>\s+any\s?more<CEND>", P, ORG, cue="more"),
    _rule("@left_home", r"<PRE>\s+(?:moved|moves)\s+(?:out\s+of|(?:away|here|there)\s+from)\s+"
          r"<O><END>", P,
          LOC, cue="move"),
    _rule("@left_home", r"<S><ADV>\s+no\s+longer\s+(?:lives?|living)\s+in\s+<O><END>", P,
          LOC, cue="longer"),
    _rule("@left_home", r"<S><ADV>(?:\s+(?:do|does|did)n't|'m\s+not|\s+(?:am|is|are)\s+not)\s+"
          r"(?:live|living)\s+in\s+<O>\s+any\s?more<CEND>", P, LOC, cue="more"),
    # "I used to live in Denver": a past that no longer holds, as "no longer" says it.
    # "I'm used to working at night" is no past (the subject's verb is "'m", not "used").
    _rule("@left_job", r"<S><ADV>\s+used\s+to\s+(?:work|teach)\s+(?:at|for)\s+<OP><END>", P,
          ORG, cue="used"),
    _rule("@left_home", r"<S><ADV>\s+used\s+to\s+(?:live|reside)\s+in\s+<O><END>", P, LOC,
          cue="used"),
    # "I teach at Lincoln High School": a school's teacher works there.
    # "I teach third grade at Lincoln Elementary", "taught yoga at the YMCA" (lower-case
    # words only between: "I taught Bob at Harvard" names a pupil, not a subject).
    _rule("works_at", r"<PRE>\s+(?P<v>teaches|taught|teach|teaching)(?:\s+[a-z-]+){0,3}?<ADV>"
          r"\s+at\s+<O><END>", P, ORG, cue="teach taught"),
    _rule("@role", r"<S><BE><ADV>\s+(?:an?|the)\s+(?P<z>[a-z]+(?:[ -][a-z]+)?)\s+(?:at|for)"
          r"\s+<O><END>", P, ORG, cue="at for"),
    _rule("@title", r"<S><BE><ADV>\s+(?:the\s+|an?\s+)?(?:new\s+|current\s+)?(?P<z>ceo|"
          r"cto|cfo|coo|president|director|head|chair|chairman|chairwoman|manager|co-founder|"
          r"cofounder|founder|owner|employee)\s+(?:of|at)\s+<O><END>", P, ORG,
          cue="ceo cto cfo coo president director head chair manager founder owner employee"),
    _rule("works_at", r"<PRE>\s+(?P<v>joined|joins)\s+<OP><END>", P, ORG, cue="join"),
    _rule("founded", r"<PRE>\s+(?:founded|co-founded|cofounded|established|set\s+up)\s+<O>"
          r"<END>", P, ORG, cue="founded established set"),
    _rule("owns", r"<PRE>\s+(?P<v>owns|owned|own|acquired)\s+<O><END>", cue="own acquired"),
    # A business brought in by its noun: "I started a company called Brightleaf", "we
    # opened a bakery named Sweet Crumbs" (founded); "I run a cafe called Brew" (owns).
    _rule("founded", r"<PRE>\s+(?:started|starts|launched|launches|opened|opens)\s+<BUSINESS>",
          P, ORG, cue="start launch open"),
    _rule("owns", r"<PRE>\s+(?P<v>runs|ran|run|running)\s+<BUSINESS>", P, ORG, cue="run ran"),
    # "runs" is left out: "runs the Boston Marathon" is not management.
    _rule("manages", r"<PRE>\s+(?P<v>manages|managed|manage|managing|leads|heads|headed|"
          r"oversees|oversaw)\s+<O><END>", P, cue="manag leads head overs"),
    _rule("studies_at", r"<PRE>\s+(?P<v>studies|studied|study|studying)(?:\s+[a-z]+){0,2}"
          r"\s+at\s+<O><END>", P, ORG, cue="stud"),
    _rule("studies_at", r"<PRE>\s+(?:graduated|graduates|graduating)\s+from\s+<O><END>", P, ORG,
          cue="graduat"),
    _rule("studies_at", r"<PRE>\s+(?:enrolled|admitted)\s+(?:at|to|in|into)\s+<O><END>", P, ORG,
          cue="enrolled admitted"),
    # "I got accepted to Columbia"; not "into": a country is accepted into a union, a
    # refugee into a country.
    _rule("studies_at", r"<PRE>\s+accepted\s+(?:at|to)\s+<O><END>", P, ORG, cue="accepted"),
    # "I'm doing my PhD at Caltech", "pursuing a master's at Yale".
    _rule("studies_at", r"<PRE>\s+(?:doing|pursuing|finishing|completing|starting)\s+(?:an?|the|"
          r"<E>'s)\s+(?:[a-z-]+\s+){0,2}?(?:degree|diploma|doctorate|phd|mba|masters|master's|"
          r"bachelors|bachelor's|residency)\s+(?:at|in)\s+<O><END>", P, ORG,
          cue="degree diploma doctorate phd mba master bachelor residency"),
    # "got my degree from MIT", "earned a master's in biology from Yale": dated as
    # "graduated from" is.
    _rule("studies_at", r"<PRE>\s+(?:got|earned|received|completed|finished)\s+(?:an?|the|"
          r"<E>'s)\s+(?:[a-z-]+\s+){0,2}?(?:degree|diploma|doctorate|phd|mba|masters|master's|"
          r"bachelors|bachelor's)(?:\s+(?:in|on)\s+(?:<E>|[a-z-]+(?:\s+[a-z-]+)?))?\s+(?:from|at)"
          r"\s+<O><END>", P, ORG, cue="degree diploma doctorate phd mba master bachelor"),
    # "Emma just started kindergarten at Oakwood Elementary".
    _rule("studies_at", r"<PRE>\s+(?:started|starts|starting|began|begins|beginning|entered|"
          r"enters)\s+(?:kindergarten|preschool|pre-k|school|college|university|grad\s+school|"
          r"(?:high|middle|elementary|primary|secondary)\s+school|(?:first|second|third|fourth|"
          r"fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|\d{1,2}(?:st|nd|rd|th))\s+"
          r"grade)\s+at\s+<O><END>", P, ORG, cue="start beg enter"),
    # "Finally finished my first semester at NYU": a term is a student's.
    _rule("studies_at", _NOT_ENDED + r"(?P<a><E>)'s\s+(?:(?:first|second|third|fourth|fifth|"
          r"sixth|seventh|eighth|last|final|spring|fall|autumn|winter|summer)\s+)?(?:semester|"
          r"term)\s+(?:at|of)\s+<OP><END>", P, ORG, cue="semester term"),
    _rule("born_in", r"<PRE>\s+born\s+(?:and\s+raised\s+)?in\s+<O><END>", P, LOC, cue="born"),
    _rule("grew_up_in", r"<PRE>\s+(?:grew\s+up|raised)\s+in\s+<O><END>", P, LOC,
          cue="grew raised"),
    # "I live with my partner in Austin": who with is said on the way to where.
    _rule("lives_in", r"<PRE>\s+(?P<v>lives|lived|live|living|resides|resided|reside|residing|"
          r"settled)(?:\s+with\s+(?:<E>(?:'s)?|[a-z]+)(?:\s+[a-z]+){0,2})?(?:\s+together)?"
          r"(?:\s+(?:down\s+)?in|\s+(?:just\s+)?(?:outside(?:\s+of)?|near))\s+<HOME_IN><O><END>", P,
          LOC, cue="live living resid settled"),
    # "my new apartment in Brooklyn": one's own home is where one lives. Only the owner's
    # own words: "my parents' house", "my old flat", "my vacation home" say nothing.
    # A verb may follow the place: "my house in Denver needs a new roof".
    _rule("lives_in", _NOT_HOME + r"(?P<a><E>)'s\s+(?:new\s+)?(?:apartment|house|flat|home|condo)"
          r"\s+in\s+(?:the\s+)?(?P<b><E>)(?:<END>|(?=\s+[a-z]))", P, LOC,
          cue="apartment house flat home condo"),
    _rule("@based", r"<S><BE><ADV>\s+(?:based|located|headquartered|situated)\s+"
          r"(?:in|out\s+of)\s+<O><END>", "", LOC, cue="based located headquartered situated"),
    _rule("@located", r"<S>\s+(?:is|are)\s+(?:located\s+|situated\s+)?in\s+<O><END>", "", LOC,
          cue="in"),
    # "I'm originally from a small town in Ohio": the town is unnamed, the state is not.
    _rule("comes_from", r"<S><BE><ADV>\s+(?:originally\s+)?from\s+<PLACE_IN><O><END>", "",
          LOC, cue="from"),
    _rule("comes_from", r"<S><ADV>\s+(?P<v>comes|come|came|hails|hail)\s+(?:originally\s+)?"
          r"from\s+<PLACE_IN><O><END>", "", LOC, cue="come came hail"),
    _rule("@moved", r"<PRE>\s+(?:moved|moves|relocated|relocates|switched|transferred|went|"
          r"changed\s+jobs)\s+(?:back\s+)?from\s+(?:the\s+)?(?P<f><E>)\s+to\s+<O><END>", P,
          cue="from"),
    _rule("@moved", r"<PRE>\s+(?:left|leaves|quit|quits)\s+(?:the\s+)?(?P<f><E>)\s+"
          r"(?:for|to\s+join)\s+<O><END>", P, cue="left leaves quit"),
    # "left Acme and now works at Globex": the new place is stated with its own verb, so
    # the verb says what changed even when the place left is a name never seen before.
    _rule("works_at", r"<PRE>\s+(?:left|leaves|quit|quits)\s+(?:the\s+)?(?P<f><E>)\s*,?\s+"
          r"and<ADV>\s+(?:(?:works|is\s+working|started\s+working|went\s+to\s+work)\s+(?:at|"
          r"for)|joined|joins)\s+<O><END>", P, ORG, cue="left leaves quit"),
    _rule("lives_in", r"<PRE>\s+(?:left|leaves)\s+(?P<f><E>)\s*,?\s+and<ADV>\s+(?:lives|is\s+"
          r"living|settled)\s+in\s+<O><END>", P, LOC, cue="left leaves"),
    _rule("@moved", r"<PRE>\s+(?:left|leaves)\s+(?:the\s+)?(?P<f><E>)\s*,?\s+and<ADV>\s+"
          r"(?:moved|relocated)\s+to\s+<O><END>", P, cue="left leaves"),
    _rule("@moved", r"<PRE>\s+(?:moved|moves|relocated|relocates)\s+(?:back\s+)?to\s+<O><END>",
          P, cue="moved moves relocat"),
    # "moved into a new apartment in Seattle": where the home is, is where one lives.
    _rule("@moved", r"<PRE>\s+(?:moved|moves)\s+into\s+(?:an?|the|his|her|their|our|<E>'s)\s+"
          r"(?:new\s+|own\s+)?(?:apartment|house|flat|place|home|condo|studio|dorm)\s+in\s+<O>"
          r"<END>", P, cue="move"),
    _rule("married_to", r"<PRE>\s+(?:married|wed)\s+(?:to\s+)?<O><END>", P, P,
          cue="married wed"),
    _rule("engaged_to", r"<PRE>\s+engaged\s+to\s+<O><END>", P, P, cue="engaged"),
    _rule("dating", r"<PRE>\s+(?P<v>dating|dates|dated)\s+<O><END>", P, P, cue="dat"),
    # A marriage or a relationship that ended, as a job does (``@left_job``).
    # "divorced my husband Tom", "split up with her boyfriend Sam": the tie word is said
    # on the way to the name, and the tie ends too (``resolve._SAME_TIES``).
    _rule("@divorced", r"<PRE>\s+(?:divorced|divorces)\s+(?:from\s+)?<SPOUSE><O><END>", P, P,
          cue="divorce"),
    _rule("@broke_up", r"<PRE>\s+(?:broke|breaks|split)\s+up\s+with\s+<PARTNER><O><END>", P,
          P, cue="broke breaks split"),
    _rule("@divorced", r"<S><ADV>\s+used\s+to\s+be\s+married\s+to\s+<O><END>", P, P,
          cue="used"),
    _rule("@broke_up", r"<S><ADV>\s+used\s+to\s+(?:date|go\s+out\s+with)\s+<O><END>", P, P,
          cue="used"),
    _rule("member_of", r"<S><BE><ADV>\s+(?:an?\s+|the\s+)?(?:active\s+|proud\s+|founding\s+)?"
          r"member\s+of\s+<O><END>", P, ORG, cue="member"),
    # "I joined a band called The Midnight Owls", "I'm in a choir named Vox", "I play
    # guitar in a band called Echo": a group named by the noun that brings it in.
    _rule("member_of", r"<PRE>\s+(?:joined|joins|join|in|(?:play|plays|played|playing|sing|"
          r"sings|sang|singing)(?:\s+[a-z-]+){0,2}\s+(?:in|for|with))\s+(?:an?|the)\s+"
          r"(?:[a-z-]+\s+){0,2}?(?:band|choir|club|team|league|orchestra|society|troupe|crew|"
          r"quartet|trio)\s+(?:called|named)\s+(?:the\s+)?(?P<b><E>)<END>", P, ORG,
          cue="band choir club team league orchestra society troupe crew quartet trio"),
    # "Jake plays soccer for the Riverside Rangers": a sport said, so the team is one.
    _rule("member_of", r"<PRE>\s+(?:play|plays|played|playing)\s+(?:soccer|football|basketball|"
          r"baseball|hockey|volleyball|rugby|cricket|softball|lacrosse|water\s+polo)\s+"
          r"(?:for|with|on)\s+(?:the\s+)?(?P<b><E>)<END>", P, ORG,
          cue="soccer football basketball baseball hockey volleyball rugby cricket softball "
          "lacrosse polo"),
    _rule("has_name", r"(?P<a><E>)'s\s+(?:full\s+)?name\s+(?:is|was)\s+<O><END>", P, P,
          cue="name"),
    # An age ("I'm 32 years old", "Ann just turned 5"): single-valued, so a newer age ends
    # the older. A bare "I'm 32" is left out: "I'm 32 weeks along".
    _rule("@age", r"<S><BE><ADV>\s+(?P<n>\d{1,3})(?:\s+|-)(?:years?|yrs?)(?:\s+|-)old<END>", P,
          cue="year yr", alone=True),
    _rule("@age", r"<PRE>\s+turned\s+(?P<n>\d{1,3})(?:\s+(?:years?|yrs?)\s+old)?<END>", P,
          cue="turned", alone=True),
    # "I'm allergic to peanuts", "Ann has a severe nut allergy": what to keep away from.
    _rule("allergic_to", r"<S><BE><ADV>\s+(?:(?:very|severely|deathly|mildly|slightly|super)\s+)?"
          r"allergic\s+to\s+(?P<rest>.{0,200})", phrase=3, cue="allergic"),
    _rule("allergic_to", r"<PRE>\s+(?:has|have|had|got|developed)\s+(?:an?\s+)?(?:(?:severe|"
          r"serious|mild|bad|slight)\s+)?(?!(?:an?|no|severe|serious|mild|bad|slight|terrible|seasonal|"
          r"food|skin|environmental|many|some|several|few|multiple)\s)"
          r"(?P<rest>[a-z]+(?:\s+[a-z]+)?)\s+allerg(?:y|ies)(?![\w'-])", phrase=2, cue="allerg"),
    _rule("allergic_to", r"<PRE>\s+(?:has|have|had|got|developed)\s+(?:an?\s+)?(?:(?!no\s)"
          r"[a-z]+\s+)?allerg(?:y|ies)\s+to\s+(?P<rest>.{0,200})", phrase=3, cue="allerg"),
    # "My favorite band is Coldplay", "Coldplay is my favorite band", "Ann's favourite
    # food is sushi": favorite_band, favorite_food (a vague "thing" or "part": likes).
    _rule("@favorite", rf"(?P<a><E>)'s\s+{_FAVORITE}\s+(?P<z>[a-z]+(?:\s+[a-z]+)?)\s+"
          r"(?:is|was|has\s+always\s+been)\s+<O><END>", cue="favo"),
    _rule("@favorite", rf"(?P<a><E>)'s\s+{_FAVORITE}\s+(?P<z>[a-z]+(?:\s+[a-z]+)?)\s+"
          r"(?:is|was|has\s+always\s+been)\s+(?P<rest>.{0,200})", phrase=3, strict=True,
          cue="favo"),
    _rule("@favorite", rf"(?:the\s+)?(?P<b><E>)\s+(?:is|was|has\s+always\s+been)\s+"
          rf"(?P<a><E>)'s\s+{_FAVORITE}\s+(?P<z>[a-z]+(?:\s+[a-z]+)?)<END>", cue="favo"),
    # Liking: "I've always loved hiking"; "'m like" is left out ("I'm like a kid").
    _rule("likes", r"<S><ADV><HAVE><ADV>\s+(?P<v>likes|liked|like|loves|loved|love|enjoys|"
          r"enjoyed|enjoy|adores|adored|adore)\s+(?P<rest>.{0,200})", phrase=3,
          cue="like love enjoy adore"),
    _rule("likes", r"<S><BE><ADV>\s+(?:really\s+|very\s+)?(?:into|passionate\s+about|"
          r"obsessed\s+with|crazy\s+about|an?\s+(?:big\s+|huge\s+)?fan\s+of)\s+(?P<rest>.{0,200})",
          phrase=3, cue="into passionate obsessed crazy fan"),
    _rule("dislikes", r"<S><ADV><HAVE><ADV>\s+(?P<v>hates|hated|hate|dislikes|disliked|"
          r"dislike|detests|detest)\s+(?P<rest>.{0,200})", phrase=3, cue="hate dislike detest"),
    # "I don't like cilantro", "Ann can't stand country music", "I'm not a fan of sushi"
    # (``offline_clauses._ENDED`` lets these negated sentences through to here).
    _rule("dislikes", r"<S><ADV>(?:\s+(?:do|does|did)n't|\s+(?:do|does|did)\s+not|\s+can't|"
          r"\s+cannot|\s+can\s+not)\s+(?:really\s+|much\s+|particularly\s+)?(?:like|enjoy|"
          r"stand|bear)\s+(?P<rest>.{0,200})", phrase=3, cue="like enjoy stand bear"),
    _rule("dislikes", r"<S>(?:'m|'re|\s+(?:am|is|are))\s+not\s+(?:really\s+)?(?:an?\s+"
          r"(?:big\s+|huge\s+)?fan\s+of|into)\s+(?P<rest>.{0,200})", phrase=3, cue="fan into"),
    _rule("is_a", r"<S><IS><ADV>\s+an?\s+(?P<rest>.{0,200})", phrase=2, strict=True),
    # "I work as a nurse at Mercy": what someone is, as "I'm a nurse" says it; in the
    # present only ("worked as a nurse" was).
    _rule("is_a", r"<S>(?:<IS>\s+working|<ADV>\s+(?P<v>works|work))<ADV>\s+as\s+an?\s+"
          r"(?P<rest>.{0,200})", phrase=2, strict=True, cue="work"),
    # Family and social ties; the possessor is the source: Alice -[brother]-> Bob.
    _rule("@kin", r"<S><BE><ADV>\s+<P>\s+<KIN><KEND>", P, P, cue=_KIN_CUE),
    _rule("@kin", r"<S><BE><ADV>\s+one\s+of\s+<P>\s+<KIN><KEND>", P, P, cue=_KIN_CUE),
    _rule("@kin", r"<S><BE><ADV>\s+an?\s+<KIN>\s+of\s+(?P<p><E>)(?:'s)?(?![\w'])", P, P,
          cue=_KIN_CUE),
    _rule("@kin", r"<P>\s+<KIN>\s+(?:named\s+|called\s+)?<X>", P, P, cue=_KIN_CUE,
          presupposed=True),
    _rule("@kin", r"<P>\s+<KIN>\s*,\s*(?P<x><E>)<CEND>", P, P, cue=_KIN_CUE, presupposed=True),
    # "My kids, Ava and Noah, are 7 and 9": a list set off by commas.
    _rule("@kin", r"<P>\s+<KIN>\s*,\s*<X>\s*,", P, P, cue=_KIN_CUE, presupposed=True),
    _rule("@kin", r"(?P<x><E>)\s*,\s*(?:who\s+is\s+)?<P>\s+<KIN><KEND><CEND>", P, P,
          cue=_KIN_CUE, presupposed=True),
    _rule("@kin", r"<P>\s+<KIN><ADV>\s+(?:is|was|'s)\s+(?:named\s+|called\s+)?(?P<x><E>)<END>",
          P, P, cue=_KIN_CUE),
    _rule("@kin", r"<P>\s+<KIN>'s\s+name\s+(?:is|was)\s+(?P<x><E>)<END>", P, P, cue=_KIN_CUE),
    # "I have two kids, Sam and Ella", "Bob has a brother called Tim": the subject's.
    _rule("@kin_had", r"<PRE>\s+(?:has|have|had)\s+(?:an?|one|two|three|four|five|six|\d)\s+"
          r"<KIN>(?:\s*[,:]\s*|\s+(?:named|called)\s+)<X>", P, P, cue=_KIN_CUE),
    # Pets; the owner is the source: Jolene -[pet]-> Seraphim. "my dog Biscuit", "my cats,
    # Luna and Max", "my dog is called Max", "my cat's name is Tom", "Oscar, my guinea
    # pig", "we adopted another puppy called Pixie".
    _rule("@pet", r"<P>\s+<PET>\s+(?:named\s+|called\s+)?<X>", P, cue=_PET_CUE,
          presupposed=True),
    _rule("@pet", r"<P>\s+<PET>\s*,\s*<X><CEND>", P, cue=_PET_CUE, presupposed=True),
    _rule("@pet", r"<P>\s+<PET><ADV>\s+(?:is|was|'s)\s+(?:named\s+|called\s+)?(?P<x><E>)<END>",
          P, cue=_PET_CUE),
    _rule("@pet", r"<P>\s+<PET>'s\s+name\s+(?:is|was)\s+(?P<x><E>)<END>", P, cue=_PET_CUE),
    _rule("@pet", r"(?P<x><E>)\s*,\s*<P>\s+<PET><KEND>", P, cue=_PET_CUE, presupposed=True),
    _rule("@pet", r"<PRE>\s+(?:has|have|had|got|get|adopted|adopt|rescued|bought|welcomed)\s+"
          r"(?:an?|the|another|this|<E>'s)\s+<PET>\s+(?:named|called)\s+<X>", P, cue=_PET_CUE),
    # "We have two dogs, Max and Ruby", "I have three cats: Tom, Ann and Bo".
    _rule("@pet", r"<PRE>\s+(?:has|have|had|got|adopted|rescued)\s+(?:two|three|four|five|\d)\s+"
          r"<PET>(?:\s*[,:]\s*|\s+(?:named|called)\s+)<X>", P, cue=_PET_CUE),
    _rule("@pair", r"(?P<a><E>)\s+(?:and|&)\s+(?P<b><E>)(?:\s+(?:are|were|became|got)|'re|"
          r"\s+(?:have|had)\s+been|'ve\s+been)<ADV>\s+(?P<best>best\s+)?(?P<k>friends|siblings|"
          r"colleagues|coworkers|co-workers|cousins|neighbors|neighbours|roommates|classmates|"
          r"partners|married|engaged|dating)<END>", P, P, cue="friends siblings colleagues "
          "coworkers co-workers cousins neighbo roommates classmates partners married engaged dating"),
)  # fmt: skip

_ALWAYS = frozenset(i for i, rule in enumerate(RULES) if not rule.cues)


def rules_for(template: str, mentions: int) -> list[Rule]:
    """The rules, in table order, that may match a template with ``mentions`` placeholders.

    A cue is made of a-z and "-", so it lies inside one run of those characters; which
    rules a run cues is cached, as a chat log repeats its words. Testing every rule's cues
    against each sentence instead cost as much as the regexes it saved.
    """
    found = set(_ALWAYS)
    for run in CUE_RUN.findall(template):
        found |= _cued_by(run)
    return [RULES[i] for i in sorted(found) if RULES[i].mentions_needed <= mentions]


_PRESUPPOSED = frozenset(i for i, rule in enumerate(RULES) if rule.presupposed)


def may_presuppose(lowered: str) -> bool:
    """Whether a sentence cues a rule that holds in a question or a negation too (a kin or
    a pet word): one that cues none is not worth a template (``rules_for``'s cue index)."""
    return any(not _PRESUPPOSED.isdisjoint(_cued_by(run)) for run in CUE_RUN.findall(lowered))


@lru_cache(maxsize=1 << 14)
def _cued_by(run: str) -> frozenset[int]:
    return frozenset(i for i, rule in enumerate(RULES) if any(c in run for c in rule.cues))
