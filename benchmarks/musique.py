"""Reader for musique-dev and the replay of its recorded LLM extractions.

musique-dev (``../shared/datasets/musique-dev/``, see its README) holds 1,890 Wikipedia
passages, 50 multi-hop questions with their gold passages, and what gpt-3.5-turbo
extracted from every passage (named entities and ``[subject, relation, object]`` triples).

``ReplayModel`` plays that model behind ``graphmem.testing.OpenAIServer``: graphmem sends
its real extraction request through the ``openai`` client, the handler finds the passage
between ``<text>`` tags and answers in graphmem's extraction schema with that passage's
recorded output. So the LLM path (request, tool call, validation, resolution, writes) is
the product's, and only the model's answers are recorded ones.

How the recorded output becomes graphmem's schema (the recording has no fact sentences):
each triple is one fact, ``"subject relation object"``, supporting one relation between
its two ends; the recorded entities are the entities (type ``other``: none was recorded).
Relation names keep their words ("published by") with characters graphmem refuses
replaced by spaces. The update step (``decide``, asked when a new fact resembles a stored
one) has no recording: the replay answers ADD for every new fact, as a model that keeps
everything would, and those calls are counted apart.
"""

from __future__ import annotations

import json
import random
import re
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_TEXT = re.compile(r"<text>\n(.*)\n</text>", re.DOTALL)
_NEW_FACTS = re.compile(r"New facts:\n(\[.*\])\s*$", re.DOTALL)
_RELATION_BAD = re.compile(r"[^\w\s\-.]+")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Passage:
    id: int
    title: str
    text: str

    @property
    def memory(self) -> str:
        """What is stored: the title on its own line, then the passage (as in the README)."""
        return f"{self.title}\n{self.text}"

    @property
    def source_ids(self) -> list[str]:
        return [str(self.id)]


@dataclass(frozen=True)
class Bundle:
    """Several passages stored as one long memory (``--per-memory``): a document whose
    answer may sit past what an embedder reads of it. ``id`` is its first passage's."""

    parts: tuple[Passage, ...]

    @property
    def id(self) -> int:
        return self.parts[0].id

    @property
    def memory(self) -> str:
        return "\n\n".join(p.memory for p in self.parts)

    @property
    def source_ids(self) -> list[str]:
        return [str(p.id) for p in self.parts]


@dataclass(frozen=True)
class MusiqueQuestion:
    id: str
    question: str
    answer: str
    gold: tuple[str, ...]  # passage ids as strings, the form source_ids take
    hops: str  # "2hop", "3hop1", ...

    @property
    def hop_count(self) -> str:
        return self.hops[:4]  # "3hop1" and "3hop2" are both three hops


@dataclass
class MusiqueData:
    passages: list[Passage] | list[Bundle]
    questions: list[MusiqueQuestion]
    extractions: dict[int, dict[str, Any]]


def load_musique(folder: str | Path) -> MusiqueData:
    """Read the three files; ``FileNotFoundError`` names what is missing."""
    root = Path(folder)
    paths = {name: root / f"{name}.json" for name in ("corpus", "questions", "extractions")}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise FileNotFoundError(
            f"musique-dev files not found: {', '.join(missing)}; pass --data with the folder"
        )
    corpus = json.loads(paths["corpus"].read_text(encoding="utf-8"))
    passages = [Passage(int(p["id"]), str(p["title"]), str(p["text"])) for p in corpus]
    questions = [
        MusiqueQuestion(
            str(q["id"]),
            q["question"],
            str(q["answer"]),
            tuple(str(g) for g in q["gold"]),
            str(q["hops"]),
        )  # fmt: skip
        for q in json.loads(paths["questions"].read_text(encoding="utf-8"))
    ]
    extractions = {
        int(e["id"]): e for e in json.loads(paths["extractions"].read_text(encoding="utf-8"))
    }
    return MusiqueData(passages, questions, extractions)


def bundled(data: MusiqueData, size: int, seed: int = 0) -> MusiqueData:
    """The passages shuffled (seeded) and joined ``size`` at a time into long memories.

    A question's gold is still its passages: a memory covers every passage it holds. The
    recorded extraction of a bundle is its passages' recordings, one after another."""
    if size <= 1:
        return data
    order = list(data.passages)
    random.Random(seed).shuffle(order)
    bundles = [Bundle(tuple(order[i : i + size])) for i in range(0, len(order), size)]
    extractions = {
        b.id: {kind: [item for p in b.parts for item in data.extractions.get(p.id, {}).get(kind, [])]
               for kind in ("entities", "triples")}
        for b in bundles
    }  # fmt: skip
    return MusiqueData(bundles, data.questions, extractions)


def relation_name(text: str) -> str:
    """A recorded relation ("current editor is", "is from") as a name graphmem accepts."""
    cleaned = _SPACES.sub(" ", _RELATION_BAD.sub(" ", text)).strip(" -.")
    return cleaned[:100].strip() or "related to"


def replay_answer(recorded: dict[str, Any]) -> dict[str, Any]:
    """One passage's recorded entities and triples in graphmem's extraction schema."""
    facts: list[dict[str, Any]] = []
    relations: list[dict[str, Any]] = []
    names: dict[str, str] = {}  # casefolded -> first spelling, so each entity is listed once
    for name in recorded.get("entities", []):
        if str(name).strip():
            names.setdefault(str(name).strip().casefold(), str(name).strip())
    for triple in recorded.get("triples", []):
        if len(triple) != 3:
            continue  # the recording holds a few pairs and quadruples: no edge to draw
        source, relation, target = (str(part).strip() for part in triple)
        if not source or not target or source.casefold() == target.casefold():
            continue
        names.setdefault(source.casefold(), source)
        names.setdefault(target.casefold(), target)
        relations.append({"source": names[source.casefold()], "relation": relation_name(relation),
                          "target": names[target.casefold()], "fact": len(facts)})  # fmt: skip
        facts.append({"text": f"{source} {relation} {target}"})
    entities = [{"name": name, "type": "other"} for name in names.values()]
    return {"facts": facts, "entities": entities, "relations": relations}


class ReplayModel:
    """The handler of an ``OpenAIServer``: recorded extractions, keyed by passage text."""

    def __init__(self, data: MusiqueData) -> None:
        self.answers = {
            p.memory.strip(): replay_answer(data.extractions.get(p.id, {})) for p in data.passages
        }
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, request: dict[str, Any]) -> dict[str, Any]:
        user = next((m.get("content") or "" for m in reversed(request.get("messages", []))
                     if m.get("role") == "user"), "")  # fmt: skip
        tool = _tool_name(request)
        if tool == "decide":
            found = _NEW_FACTS.search(user)
            new = json.loads(found.group(1)) if found else []
            self._count("decide")
            return {"decisions": [{"event": "ADD", "id": None, "text": t} for t in new]}
        found = _TEXT.search(user)
        answer = self.answers.get(found.group(1).strip()) if found else None
        if answer is None:
            # Not a passage of the corpus: a bug in the suite, and it must not pass silently.
            self._count("unknown")
            return {"facts": [], "entities": [], "relations": []}
        self._count("extract")
        return answer

    def _count(self, kind: str) -> None:
        with self._lock:
            self.calls[kind] += 1


def _tool_name(request: dict[str, Any]) -> str:
    choice = request.get("tool_choice")
    if isinstance(choice, dict):
        return str(choice.get("function", {}).get("name", ""))
    tools = request.get("tools") or []
    return str(tools[0].get("function", {}).get("name", "")) if tools else ""


def distinct_sources(source_lists: list[list[str]], limit: int) -> list[list[str]]:
    """Hits' source ids -> one entry per passage, first appearance wins, at most ``limit``.

    A passage yields several facts (one per triple); the question is which passages the
    top hits lead to, so a passage counts once, at the rank of its best hit.
    """
    seen: set[str] = set()
    out: list[list[str]] = []
    for sources in source_lists:
        fresh = [s for s in sources if s not in seen]
        if not fresh:
            continue
        seen.update(fresh)
        out.append(fresh)
        if len(out) >= limit:
            break
    return out
