"""extract -> decide -> resolve: turn validated input into one ``Plan`` and its new facts.

Cost discipline (what-to-beat.md item 5): one extraction call per unit of input, a
deterministic dedup by content id before any model is asked, at most one more call (the
update decision) and only when stored facts are close to the new ones, and one batched
embedding call for everything new.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from ..errors import ExtractionError
from ..index.keyword import tokenise
from ..index.names import NameVectors, text_of
from ..lifecycle.fields import Life
from ..models import (
    ExtractedEntity,
    ExtractedFact,
    Extraction,
    Fact,
    HistoryEvent,
    Scope,
    name_key,
    now_iso,
)
from ..stores.base import FACTS, Embedder, Extractor, KnownEntity, VectorPoint, VectorStore
from ..stores.graph_ops import GraphOps
from ..text import fact_text_key, parts_key
from .offline import OfflineExtractor
from .offline_importance import importance
from .offline_mentions import KnownIndex
from .offline_pronouns import Antecedents
from .resolve import VAGUE_TYPES, Plan, Resolver
from .sources import (
    Source,
    content_id,
    ids_key,
    keeps_turns,
    origins,
    said_by,
    source_ids_of,
    source_payload,
)
from .turns import (
    USER,
    attributed,
    by_turn,
    each_as_said,
    or_as_said,
    placed,
    roles_of,
    speakers_of,
    spoken_by,
    voice,
)
from .validate import Message, check_extraction


@dataclass
class Unit:
    """One ``add``: its messages and what the caller attached to them."""

    messages: list[Message]
    metadata: dict[str, Any] = field(default_factory=dict)
    source_ids: list[str] = field(default_factory=list)
    timestamp: str = ""
    actor: str = ""
    life: Life = field(default_factory=Life)  # memory_type, importance, expires_at asked for

    @property
    def text(self) -> str:
        return "\n".join(m.content for m in self.messages)

    @cached_property
    def by_turns(self) -> bool:
        """Whether each message is kept as its own source (``sources.keeps_turns``): read
        for every fact of the unit, so worked out once."""
        return keeps_turns(self)

    def speaker(self, scope: Scope) -> str:
        named = next((m.name for m in self.messages if m.name and m.role == "user"), "")
        return named or scope.user_id or "user"


def carried(unit: Unit, extractor: Extractor, turn_by_turn: bool) -> dict[str, Any]:
    """What the offline extractor is passed for each turn of ``unit`` read one at a time:
    one ``Antecedents`` for the whole conversation, so who "she" is carries from turn to
    turn ("My sister Ann moved." / "What does she do?" / "She works at Google.";
    ``offline_pronouns.py``). Nothing for another extractor, or a unit read as one text."""
    if not (turn_by_turn and isinstance(extractor, OfflineExtractor)):
        return {}
    return {"people": Antecedents(speakers=[m.name for m in unit.messages if m.name])}


@dataclass
class Prepared:
    plan: Plan
    facts: list[Fact]
    vectors: list[list[float]]
    updates: list[tuple[str, str]] = field(default_factory=list)  # (old id, reason)
    sources: list[VectorPoint] = field(default_factory=list)  # messages kept whole
    unchanged: list[str] = field(default_factory=list)  # ids said again: already stored


class Pipeline:
    def __init__(
        self,
        ops: GraphOps,
        vectors: VectorStore,
        embedder: Embedder,
        resolver: Resolver,
        linker: Extractor,
        *,
        update_threshold: float,
        max_text_chars: int = 20_000,
        max_items: int = 200,
        names: NameVectors | None = None,
    ) -> None:
        self.ops = ops
        self.names = names  # relation names' vectors, for the graph walk (index/names.py)
        self.vectors = vectors
        self.embedder = embedder
        self.resolver = resolver
        self.linker = linker  # the offline extractor: finds entities for infer=False
        self.update_threshold = update_threshold
        self.max_text_chars = max_text_chars
        self.max_items = max_items

    def known_entities(self, scope: Scope, limit: int = 200) -> list[KnownEntity]:
        return [KnownEntity(e.name, e.type, list(e.aliases))
                for e in self.ops.all_entities(scope, 0, limit) if e.scope == scope]  # fmt: skip

    def extract_all(
        self, units: Sequence[Unit], scope: Scope, extractor: Extractor, infer: bool, now: str = ""
    ):
        """Extract every unit in order; each one sees the entities stored in the scope and
        those found in the units before it, so "moved from Lyon to Porto" knows Lyon is a
        place even when "lives in Lyon" arrived in the same batch. ``now``: when a unit
        with no timestamp was said, for the offline extractor ("I quit my job at Acme"
        ends the job then)."""
        known = KnownIndex(self.known_entities(scope))
        seen = {name_key(k.name): k for k in known}
        out = []
        for unit in units:
            found = self.extract(unit, scope, extractor, infer, known, now)
            out.append(found)
            for item in found.entities:
                key = name_key(item.name)
                if key not in seen:
                    seen[key] = KnownEntity(item.name, item.type, list(item.aliases))
                    known.append(seen[key])
                elif seen[key].type in VAGUE_TYPES and item.type not in VAGUE_TYPES:
                    seen[key].type = item.type
        return out

    def extract(
        self, unit: Unit, scope: Scope, extractor: Extractor, infer: bool, known, now: str = ""
    ) -> Extraction:
        # Relations come from what the user says. An assistant's reply restates, quotes
        # and suggests ("earlier you told me: I live in Paris"), and a relation read from
        # it superseded the user's newer statement: the user's message "I moved from Paris
        # to Lyon" was invalidated by the reply quoting an older one, and left search.
        if infer:
            roles = roles_of(unit.messages)
            # Two speakers of one role (a group chat: users by name) are read turn by turn
            # too, as two roles are: joined, every "I" was the first user's.
            several = len(speakers_of(unit.messages)) > 1
            conversation = getattr(extractor, "extract_conversation", None)

            # The offline extractor matches every known name in the text itself; anything
            # else (a model) is told a bounded list, the names this unit uses first.
            offline = isinstance(extractor, OfflineExtractor)
            offered = known if offline else known.offered(unit.text)
            # A model is told the time only when the caller gave one (its prompt says so).
            said_at = unit.timestamp or (now if offline else "")
            # Turn by turn (``by_turn`` below), who "she" is carries from turn to turn.
            people = carried(unit, extractor, several and conversation is None)

            def read(text: Any, role: str = USER, name: str = "",
                     reader=extractor.extract) -> Extraction:  # fmt: skip
                said = voice(role, name or unit.speaker(scope), model=conversation is not None)
                found = reader(text, speaker=said, known=offered,
                               reference_time=said_at, **people)  # fmt: skip
                try:
                    return check_extraction(found, extractor, self.max_text_chars,
                                            self.max_items)  # fmt: skip
                except ExtractionError:  # a model's refused answer is not kept for next time
                    getattr(extractor, "forget_last", lambda: None)()
                    raise

            if several and conversation is None:
                return by_turn(unit.messages, unit.timestamp, read)  # turns.py
            if several:
                # One labelled transcript; each fact then keeps its own turn's role.
                found = attributed(read(unit.messages, reader=conversation), unit.messages)
            else:
                role = roles.pop()
                found = spoken_by(read(unit.text, role), role)
            if unit.by_turns:
                return placed(each_as_said(found, unit.messages, unit.timestamp), unit.messages)
            return placed(or_as_said(found, unit.text, unit.timestamp), unit.messages)
        # Stored as given: one fact per message, entities and relations found offline.
        out, several = Extraction(), len(unit.messages) > 1
        people = carried(unit, self.linker, several)
        for number, msg in enumerate(unit.messages):
            said = voice(msg.role, msg.name or unit.speaker(scope), model=False)
            found = self.linker.extract(msg.content, speaker=said, known=known,
                                        reference_time=unit.timestamp or now, **people)  # fmt: skip
            index = len(out.facts)
            for entity in found.entities if several else ():  # its own message's fact only
                entity.facts = (index, index + 1)
            # A turn matters as much as its most important sentence.
            rated = [f.importance for f in found.facts if f.importance is not None]
            rating = max(rated) if rated else importance(msg.content)  # only when needed
            out.facts.append(ExtractedFact(msg.content, unit.timestamp, rating,
                                           turn=number if several else None))  # fmt: skip
            out.entities += found.entities
            for rel in found.relations if msg.role == "user" else ():
                rel.fact = index
                out.relations.append(rel)
        return out

    def prepare(
        self,
        units: Sequence[Unit],
        extractions: Sequence[Extraction],
        scope: Scope,
        infer: bool,
        decide=None,
        now: str = "",
    ) -> Prepared:
        now = now or now_iso()
        plan = Plan(scope)
        merged = Extraction()
        fact_ids: list[str] = []
        fact_times: list[str] = []
        facts: list[Fact] = []
        texts: list[str] = []
        seen: set[str] = set()  # ids in facts, kept as we go: a set per fact was quadratic
        spans: list[tuple[ExtractedEntity, int, int]] = []  # entity, its unit's facts [a, b)
        found: list[
            tuple[str, str, Unit, int, ExtractedFact, str]
        ] = []  # id, key, unit, i, fact, origin
        sources: dict[str, tuple[Source, Unit]] = {}
        for unit, ex in zip(units, extractions, strict=True):
            base = len(merged.facts)
            kept, held = origins(unit, ex, scope) if infer else ([""] * len(ex.facts), {})
            sources.update((o, (source, unit)) for o, source in held.items())
            for i, (item, origin) in enumerate(zip(ex.facts, kept, strict=True)):
                text_key = fact_text_key(item.text)
                parts = [text_key]
                if not infer:  # raw turns: identical text in two places is two memories
                    parts += [unit.timestamp, ids_key(unit.source_ids), str(i), unit.text]
                found.append((content_id(scope, *parts), text_key, unit, i, item, origin))
                merged.facts.append(item)
            merged.entities += ex.entities
            spans += [(item, base + item.facts[0], base + item.facts[1]) if item.facts
                      else (item, base, len(merged.facts)) for item in ex.entities]  # fmt: skip
            for rel in ex.relations:
                rel.fact += base
                merged.relations.append(rel)
        taken = self._free_ids(scope, {cid: key for cid, key, *_ in found})
        existing = {fid for fid, own in taken.values() if own}
        for cid, text_key, unit, i, item, origin in found:
            fid = taken[cid][0]
            fact_ids.append(fid)
            fact_times.append(item.valid_at or unit.timestamp)
            if fid in seen:
                continue
            seen.add(fid)
            role = item.role or (unit.messages[min(i, len(unit.messages) - 1)].role
                                 if not infer else "user")  # fmt: skip
            facts.append(Fact(fid, item.text, scope, created_at=now, updated_at=now,
                              valid_at=item.valid_at or unit.timestamp,
                              hash=text_key, source_ids=source_ids_of(unit, item.turn),
                              metadata=said_by(unit, item.turn), role=role, origin=origin,
                              memory_type=unit.life.memory_type_for(infer, item.memory_type),
                              importance=unit.life.importance_for(item.importance),
                              expires_at=unit.life.expires_at,
                              promoted_from=unit.life.promoted_from))  # fmt: skip
            texts.append(item.text)
        # One embedding call for the new facts and the sources they may need.
        wanted_sources = [o for o in sources if any(f.origin == o and f.id not in existing
                                                    for f in facts)]  # fmt: skip
        every = texts + [sources[o][0].text for o in wanted_sources]
        # And the relation names the graph walk has no vector for yet, in the same call.
        stated = [r.relation.strip() for r in merged.relations if isinstance(r.relation, str)]
        names = [] if self.names is None else self.names.missing(stated)
        embedded = self.embedder.embed(every + [text_of(n) for n in names]) \
            if every or names else []  # fmt: skip
        vectors = embedded[: len(texts)]
        source_vectors = embedded[len(texts) : len(every)]
        if names:
            self.names.put(names, embedded[len(every) :])
        keep = [(f, v) for f, v in zip(facts, vectors, strict=True) if f.id not in existing]
        updates: list[tuple[str, str]] = []
        if decide is not None and keep:
            keep, updates = self._decide(keep, scope, decide, plan, now)
        new_facts = [f for f, _ in keep]
        used = {f.origin for f in new_facts}
        dropped = {f.id for f in facts} - {f.id for f in new_facts} - existing
        source_points = [
            VectorPoint(o, v, source_payload(o, *sources[o], scope, now, parts=parts_key(
                [f.text for f in facts if f.origin == o and f.id not in dropped])))
            for o, v in zip(wanted_sources, source_vectors, strict=True)
            if o in used
        ]  # fmt: skip
        if dropped:  # the model said NONE: what those facts stated is already stored
            merged.relations = [r for r in merged.relations if fact_ids[r.fact] not in dropped]
            # And the entities only they named: written anyway, they were linked to no
            # memory, so no delete ever removed them, and later prompts offered them.
            kept = {i for i, fact_id in enumerate(fact_ids) if fact_id not in dropped}
            named = {name_key(item.name) for item, start, end in spans
                     if kept.intersection(range(start, end))}  # fmt: skip
            named |= {name_key(end) for r in merged.relations for end in (r.source, r.target)}
            merged.entities = [e for e in merged.entities if name_key(e.name) in named]
        wanted = wanted_entities(merged)
        entities = self.resolver.resolve_entities(wanted, scope, now, plan) if wanted else {}
        plan.batch.facts = new_facts
        plan.batch.fresh = True  # new_facts' ids are free (_free_ids); relation ids get made
        plan.batch.new_entities = frozenset(p.id for p in plan.entity_points)  # made by resolve
        # The memories the model said a new one replaces: named in its ADD, so deleting it
        # can find them and give them back (``reopen.py``).
        replaces: dict[str, list[str]] = {}
        for e in plan.events:
            if e.event == "INVALIDATE" and e.details.get("replaced_by"):
                replaces.setdefault(e.details["replaced_by"], []).append(e.target_id)
        for f in new_facts:  # ADD first: an in-batch supersession may INVALIDATE it next
            # A copy maintain() promotes from a run is born by a PROMOTE event instead.
            born, details = ("PROMOTE", {"promoted_from": f.promoted_from}) if f.promoted_from \
                else ("ADD", {"replaces": replaces[f.id]} if f.id in replaces else {})  # fmt: skip
            plan.events.append(HistoryEvent(born, f.id, scope, new_value=f.text, role=f.role,
                                            details={"source_ids": f.source_ids, **details}))  # fmt: skip
        self.resolver.resolve_relations(merged, fact_ids, fact_times, entities, scope, now, plan)
        named_by = self.link_mentions(plan, merged, spans, fact_ids, entities)
        live = {f.id for f in new_facts} | existing
        plan.batch.mentions = sorted({m for m in plan.batch.mentions if m[0] in live})
        # What an undo of a merge must move back: the facts that used this name for the
        # entity, not every fact of the write. An undo moved them all, the other items'
        # facts too (1,000 a batch in add_many, 40 kB an event), and the facts naming the
        # entity by its own name left it for the split.
        merges = [((name_key(e.old_value or ""), e.target_id), e)
                  for e in plan.events if e.event == "MERGE"]  # fmt: skip
        merged_keys = {key for key, _ in merges}
        for rel in merged.relations if merges else ():  # "He likes chess.": by relation only
            for end in (rel.source, rel.target):
                key = name_key(end) if isinstance(end, str) else ""
                entity = entities.get(key)
                if entity is not None and (key, entity.id) in merged_keys:
                    named_by.setdefault((key, entity.id), set()).add(fact_ids[rel.fact])
        for merge_key, event in merges:
            event.details["fact_ids"] = sorted(named_by.get(merge_key, set()) & live)
        return Prepared(plan, new_facts, [v for _, v in keep], updates, source_points,
                        sorted(existing))  # fmt: skip

    def _free_ids(self, scope: Scope, keys: dict[str, str]) -> dict[str, tuple[str, bool]]:
        """Content id -> (the id to use, whether that id is stored with this very text).

        A content id names the text a memory was added with; ``update`` changes the text
        and keeps the id. Adding the old text again must then get a new id, not be taken
        for a copy of the updated memory (issue 20): the next free revision is used.
        """
        out: dict[str, tuple[str, bool]] = {}
        pending = {fid: (fid, key) for fid, key in keys.items()}
        for revision in range(1, 1000):
            if not pending:
                break
            ids = sorted({fid for fid, _ in pending.values()})
            # From the vector store, which holds every fact with its text as the graph
            # does: a look-up by point id there, where Kuzu's ``fact_texts`` joined the ids
            # against a scan of every fact (128 ms per 1,000 ids at 1M memories, measured).
            stored = {hit.id: fact_text_key(str(hit.payload.get("text") or ""))
                      for hit in self.vectors.get(FACTS, ids)}  # fmt: skip
            later = {}
            for original, (fid, key) in pending.items():
                if fid not in stored or stored[fid] == key:
                    out[original] = (fid, fid in stored)
                else:
                    later[original] = (content_id(scope, original, f"revision {revision}"), key)
            pending = later
        return out

    def link_mentions(
        self, plan: Plan, merged: Extraction, spans, fact_ids, entities
    ) -> dict[tuple[str, str], set[str]]:
        """Link each entity to the facts of its own unit that name it (all of them if none
        does). Looking only inside the unit keeps a large batch linear. Returns the facts
        linked per (key of the name the unit used, entity id)."""
        folded = [f.text.casefold() for f in merged.facts]  # once, not once per entity
        linked: dict[tuple[str, str], set[str]] = {}
        for item, start, end in spans:
            key = name_key(item.name)
            entity = entities.get(key)
            if entity is None:
                continue
            names = [n.casefold() for n in [item.name, *item.aliases, entity.name]]
            own = range(start, end)
            hits = [i for i in own if any(n in folded[i] for n in names)]
            found = linked.setdefault((key, entity.id), set())
            for i in hits or own:
                plan.batch.mentions.append((fact_ids[i], entity.id))
                found.add(fact_ids[i])
        return linked

    def _decide(self, keep, scope: Scope, decide, plan: Plan, now: str):
        """Ask the model ADD/UPDATE/DELETE/NONE, only when similar stored facts exist."""
        candidates: dict[str, str] = {}
        for fact, vector in keep:
            for hit in self.vectors.search(
                FACTS, vector, scope, limit=5, filters={"invalid_at": ""}
            ):
                if hit.score >= self.update_threshold and hit.id != fact.id:
                    candidates.setdefault(hit.id, hit.payload.get("text", ""))
        if not candidates:
            return keep, []
        decisions = decide([f.text for f, _ in keep], list(candidates.items()))
        for d in decisions:  # the model's text is held to the caller's limit here too
            if len(d.text) > self.max_text_chars:
                raise ExtractionError(
                    f"the model's {d.event} decision text is {len(d.text):,} characters, over "
                    f"max_text_chars {self.max_text_chars:,}; nothing was stored"
                )
        by_text = {f.text: (f, v) for f, v in keep}
        out, updates, merged = [], [], []
        for d in decisions:
            pair = by_text.pop(d.text, None)
            # The prompt has an UPDATE's text be the merged memory and a NONE's the stored
            # one, so neither is a new fact's text: matched by text alone, an UPDATE kept
            # the new fact and lost the merge ("likes tea" gone), a NONE kept a duplicate.
            if pair is None and d.id and d.event in ("UPDATE", "NONE"):
                pair = _closest(by_text, d.text, single=d.event == "UPDATE")
                if pair is not None and d.event == "UPDATE":
                    merged.append((len(out), d.text))
            if d.event == "UPDATE" and pair is None:
                continue  # a merge that fits no new fact: the stored memory stays as it is
            if d.event in ("UPDATE", "DELETE") and d.id:
                plan.invalidated_fact_ids[d.id] = (
                    pair[0].valid_at if pair and pair[0].valid_at else now
                )
                plan.events.append(HistoryEvent(
                    "INVALIDATE", d.id, scope, old_value=candidates.get(d.id),
                    new_value=d.text, details={"reason": f"llm_{d.event.lower()}",
                    "replaced_by": pair[0].id if pair else None},
                ))  # fmt: skip
                updates.append((d.id, d.event))
            if pair is not None and d.event != "NONE":
                out.append(pair)
        if merged:  # the merged memory is what is stored, embedded as it reads
            vectors = self.embedder.embed([text for _, text in merged])
            for (i, text), vector in zip(merged, vectors, strict=True):
                out[i] = (replace(out[i][0], text=text), vector)
        out += list(by_text.values())  # facts the model did not mention are kept
        return out, updates


def _closest(by_text: dict[str, Any], text: str, single: bool) -> Any:
    """Pop the new fact ``text`` (a decision's) is about: the one sharing most of its
    words, if they are at least half of the two texts' words together; with ``single``,
    also the only new fact left, whatever its words."""
    words = set(tokenise(text))
    best, share = None, 0.0
    for key in by_text:
        theirs = set(tokenise(key))
        overlap = len(words & theirs) / (len(words | theirs) or 1)
        if overlap > share:
            best, share = key, overlap
    if best is not None and share >= 0.5:
        return by_text.pop(best)
    if single and len(by_text) == 1:
        return by_text.pop(next(iter(by_text)))
    return None


def wanted_entities(found: Extraction) -> list[ExtractedEntity]:
    """Every extracted entity, plus the relation ends the extractor did not list."""
    wanted = list(found.entities)
    listed = {name_key(e.name) for e in wanted}
    for rel in found.relations:
        for end in (rel.source, rel.target):
            if name_key(end) not in listed:
                wanted.append(ExtractedEntity(end, "other"))
                listed.add(name_key(end))
    return wanted
