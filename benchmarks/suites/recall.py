"""Suite ``recall``: retrieval where words do not carry the answer, built from LoCoMo.

Two sets, each run like the ``locomo`` suite (the default ``add()`` path and the turns
stored verbatim, beside BM25, dense and their fusion, in one process):

- ``implicit``: only the questions that share no word with their gold turns once the two
  speakers' names are set aside (words compared after the keyword index's stemming and
  stopword list). Keyword matching cannot find these; the meaning has to.
- ``distant``: the implicit questions whose gold turns' neighbours (two turns either
  side) share no word with them either, so neither the words nor the context lifted from
  the turns beside the gold can find it (67 questions on all ten conversations). On
  ``implicit``, neighbour lifting carries ``text`` past dense; here only the meaning
  does, the case where a fusion that trusts words falls behind dense retrieval.
- ``replies``: every turn followed by a long reply of an assistant that repeats the
  speaker's words: it restates the turn, recalls several other turns of the conversation
  word for word and adds advice (``--reply-words`` words in all). Gold stays on the
  people's turns, so every reply is a distractor full of the query's words, the way an
  agent that stores its own answers fills its memory.
- ``distractors``: the same, but a reply does not restate the turn it answers: it only
  recalls other turns word for word and adds advice. In ``replies`` the reply right after
  a gold turn quotes it, so a keyword match on the reply leads, through its neighbour, to
  the gold: an echo real assistants rarely give word for word. Here every reply is a long
  memory full of other turns' words and none points at the gold, the case where BM25 over
  long stored answers misleads (issue 22's set with the assistant's replies).
- ``merged``: every conversation in one scope, as one user's many chats (issue 22's long
  chats at 10x the length): each keeps its own sessions, so context never crosses from
  one chat to another, and every question searches all of them.

What it checks (issue 22): ``hybrid`` against its own channels (``vector``, ``text``) and
against plain dense and BM25 over the same texts, on data where a fusion tuned to LoCoMo's
word overlap would fall behind dense retrieval.
"""

from __future__ import annotations

import argparse
import random
from dataclasses import replace
from pathlib import Path

from ..locomo import Conversation, LocomoData, Turn, load_locomo
from ..report import default_out
from ..runtime import EMBEDDERS, EXTRACTORS, resolve_data_path
from . import locomo as locomo_suite

SETS = ("implicit", "distant", "replies", "distractors", "merged")
MERGED = "all-chats"
_ADVICE = (
    "I think it helps to write down how you felt in that moment, because looking back "
    "on it later makes it easier to see how far you have come.",
    "If you want, I can suggest a few ways to plan the next steps so it does not feel "
    "overwhelming, and we can adjust them as things change.",
    "It sounds like the people around you matter a lot here, so it may be worth sharing "
    "this with them and asking what they think.",
    "I would also keep some time for yourself, since taking care of your own energy makes "
    "everything else easier to manage.",
    "Let me know how it goes; I am happy to go through any of it again whenever you like.",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default="../shared/datasets/locomo10.json")
    parser.add_argument("--sets", default=",".join(SETS), help=f"any of {', '.join(SETS)}")
    parser.add_argument("--embedder", choices=EMBEDDERS, default="local")
    parser.add_argument("--extract", choices=EXTRACTORS, default="offline")
    parser.add_argument("--no-verbatim", action="store_true")
    parser.add_argument("--graph", default="kuzu")
    parser.add_argument("--recipes", default="vector,keyword,text,hybrid")
    parser.add_argument("--conversations", default="0", help="as for the locomo suite")
    parser.add_argument("--reply-words", type=int, default=250, help="length of each reply")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--workdir", default="")
    parser.add_argument("--out", default="", help="results dir (default results/recall)")
    parser.add_argument("--bootstrap", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-embed-cache", action="store_true")


def implicit(data: LocomoData) -> LocomoData:
    """The questions sharing no stemmed word with their gold turns, names aside."""
    from graphmem.index.keyword import tokenise

    turns = {(c.sample_id, t.dia_id): t.text for c in data.conversations for t in c.turns}
    names = {c.sample_id: {w for s in c.speakers for w in tokenise(s)}
             for c in data.conversations}  # fmt: skip
    kept = []
    for q in data.questions:
        gold = {w for d in q.gold for w in tokenise(turns.get((q.sample_id, d), ""))}
        if q.gold and not (set(tokenise(q.question)) & gold) - names[q.sample_id]:
            kept.append(q)
    return replace(data, questions=kept)


def distant(data: LocomoData, reach: int = 2) -> LocomoData:
    """The implicit questions whose gold turns' neighbours share no word with them."""
    from graphmem.index.keyword import tokenise

    data = implicit(data)
    place = {(c.sample_id, t.dia_id): (c, i) for c in data.conversations
             for i, t in enumerate(c.turns)}  # fmt: skip
    kept = []
    for q in data.questions:
        words = set(tokenise(q.question))
        near = set()
        for dia_id in q.gold:
            if (q.sample_id, dia_id) in place:
                c, i = place[(q.sample_id, dia_id)]
                names = {w for s in c.speakers for w in tokenise(s)}
                for turn in c.turns[max(0, i - reach) : i + reach + 1]:
                    near |= set(tokenise(turn.text)) - names
        if not words & near:
            kept.append(q)
    return replace(data, questions=kept)


def with_replies(data: LocomoData, words: int, seed: int, echo: bool = True) -> LocomoData:
    """Each turn followed by a long assistant reply repeating the conversation's words
    (``echo``: starting with the turn it answers, word for word)."""
    rng = random.Random(seed)
    conversations = []
    for c in data.conversations:
        said = [t.text.split(": ", 1)[-1] for t in c.turns]
        turns: list[Turn] = []
        for i, turn in enumerate(c.turns):
            turns.append(turn)
            parts = [f"assistant: That is a lot to take in, {turn.speaker}."]
            if echo:
                parts[0] += f' You said: "{said[i]}"'
            while sum(len(p.split()) for p in parts) < words:
                if rng.random() < 0.6:
                    parts.append(f'Earlier you told me: "{rng.choice(said)}"')
                else:
                    parts.append(rng.choice(_ADVICE))
            turns.append(Turn(f"{turn.dia_id}+reply", turn.session, "assistant",
                              " ".join(parts), turn.timestamp))  # fmt: skip
        conversations.append(Conversation(c.sample_id, c.speakers, c.session_dates, turns))
    return replace(data, conversations=conversations)


def merged(data: LocomoData) -> LocomoData:
    """All conversations as one scope's chats: turn ids prefixed by their conversation
    ("conv-26/D1:3", gold too), sessions numbered apart, questions numbered anew."""
    turns: list[Turn] = []
    dates: dict[int, str] = {}
    for n, c in enumerate(data.conversations, 1):
        turns += [replace(t, dia_id=f"{c.sample_id}/{t.dia_id}", session=n * 1000 + t.session)
                  for t in c.turns]  # fmt: skip
        dates.update({n * 1000 + s: d for s, d in c.session_dates.items()})
    questions = [replace(q, sample_id=MERGED, index=i,
                         gold=tuple(f"{q.sample_id}/{g}" for g in q.gold))
                 for i, q in enumerate(data.questions)]  # fmt: skip
    whole = Conversation(MERGED, ("", ""), dates, turns)
    return replace(data, conversations=[whole], questions=questions)


def run(args: argparse.Namespace) -> int:
    chosen = [s for s in args.sets.split(",") if s]
    unknown = sorted(set(chosen) - set(SETS))
    if unknown:
        raise locomo_suite.BenchmarkError(f"--sets {unknown}: choose from {SETS}")
    workdir = args.workdir
    for name in chosen:
        args.workdir = str(Path(workdir) / name) if workdir else ""
        data = locomo_suite.select_conversations(
            load_locomo(resolve_data_path(args.data)), args.conversations
        )
        if name in ("replies", "distractors"):
            data = with_replies(data, args.reply_words, args.seed, echo=name == "replies")
        elif name == "merged":
            data = merged(data)
        else:
            data = implicit(data) if name == "implicit" else distant(data)
        out = Path(args.out) / name if args.out else default_out("recall", name)
        locomo_suite.run_on(data, args, out, title=f"recall/{name}")
    return 0
