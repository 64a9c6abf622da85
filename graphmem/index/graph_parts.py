"""The graph copy's snapshot in parts, one per scope, each loaded when a read first needs it.

Why: the copy (``stores/graph_index.py``) is one for the whole data dir, and a fresh process
loaded all of it on its first search: 13.6 s of a 16.9 s cold start at 1M memories in ten
scopes (issue 16), nearly all of it building rows of scopes that search never read. Saved
by scope, a search loads its own scope's part, and a process serving one user of many
never loads the others.

What is saved, beside the arrays the manifest checks (``snapshot.py``):

- ``parts``: each part's scope as ``[user_id, agent_id, run_id]`` (JSON): one part per
  distinct scope among the entities. A relation joining two scopes' entities, or a fact
  mentioning both (Cypher a user ran, ``add_triples``), puts everything in one part with
  no scope, read by any search: parts never share an entity, a relation or a mention.
- ``bounds``: per part, its byte range in ``blob`` and the Adler-32 sum of those bytes.
- ``blob``: the parts one after another, each its distinct texts once and its rows
  (entities, relations, mentions) as integer columns of positions in them
  (``graph_codec.py``), read through a memory map a part at a time; a part's sum is
  checked before it is used, and its contents as it is decoded.
- ``ids`` / ``owner``: a 64-bit hash of every entity id and mentioned fact id, sorted, and
  the part holding it, so a read by ids finds the parts to load with one ``searchsorted``.
  Two ids with one hash only load a part more than needed.

A part loads for a read naming a scope (every part that scope covers), for a read by ids
(the parts holding the ids the copy lacks), and before a write that may change it (the
parts of the written rows' scopes and ids, ``IndexedGraphStore._before``): a part on disk
matches the store for as long as no write touches it, so a process that writes to one
user of many never loads the others, and the save on close copies their bytes over from
the same files, checked but not decoded (the files are deleted only once the new
snapshot is in place).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ..collector import collector_paused
from ..models import SCOPE_FIELDS, Scope
from ..stores.graph_index import GraphIndex, HeldEntity, HeldRelation, PartUnreadable
from .graph_codec import Decoded, Encoder, grouped
from .snapshot import NAME, Arrays, Chunks, check, pack, unpack

BLOB = "blob"  # the one array not read whole on load: its parts are checked one by one


def id_hash(text: str) -> int:
    """A stable 64-bit hash (Python's ``hash`` changes per process): CRC-32 and Adler-32."""
    data = text.encode("utf-8")
    return (zlib.crc32(data) << 32) | zlib.adler32(data)


def graph_arrays(index: GraphIndex) -> tuple[dict[str, Any], dict[str, Any]]:
    """The copy as parts by scope. A part still on disk is copied over as saved: a write
    loads the parts it touches, so the others are as they were (a close after one batch
    into one scope of ten at 1M spent 38 s loading and encoding all ten)."""
    kept = _unloaded(index.parts)
    entities, relations, mentions, whole = _layout(index)
    if kept is None or (kept and (whole or _overlap(entities, kept))):
        index.need_all()  # a part unreadable, or rows now joining parts: all in one go
        kept = []
        entities, relations, mentions, whole = _layout(index)
    parts = [(scope, None) for scope in entities] + [(scope, saved) for scope, *saved in kept]
    parts.sort(key=lambda part: part[0] or ("",))
    chunks, bounds, hashed = [], np.zeros((len(parts), 3), np.int64), []
    start = 0
    for n, (scope, saved) in enumerate(parts):
        if saved is None:
            named = mentions(scope)
            encoder = Encoder()
            encoder.rows("e", HeldEntity._fields, entities[scope])
            encoder.rows("r", HeldRelation._fields, relations.get(scope, []))
            encoder.texts("m.facts", list(named))
            encoder.lists("m.named", list(named.values()))
            chunk = encoder.chunk()
            hashed.append(np.array([id_hash(e.id) for e in entities[scope]]
                                   + [id_hash(f) for f in named], np.uint64))  # fmt: skip
            del named, encoder  # before the next part's: one part's rows at a time
        else:
            chunk, ids = saved
            hashed.append(ids)
        bounds[n] = (start, start + len(chunk), zlib.adler32(chunk))
        chunks.append(chunk)
        start += len(chunk)
    ids = np.concatenate(hashed) if hashed else np.zeros(0, np.uint64)
    owner = np.repeat(np.arange(len(parts), dtype=np.int32), [len(h) for h in hashed])
    order = np.lexsort((owner, ids))
    return {}, {
        "parts": pack([list(s) if s is not None else None for s, _ in parts]),
        "bounds": bounds,
        "ids": ids[order],
        "owner": owner[order],
        BLOB: Chunks(chunks),
    }


def _layout(index: GraphIndex):
    """The loaded rows by part: entities, relations, each part's facts' mentions (made when
    asked, one part at a time: as one map of every fact's sorted list they held ~150 MB
    at 1M memories, at the close's peak), and whether any relation or mention joins two
    scopes (then everything is one part with no scope)."""
    part_of = {e.id: _scope(e) for e in index.entities.values()}
    relations: dict[Any, list[HeldRelation]] = {}
    facts: dict[Any, list[str]] = {}  # part -> the facts naming its entities
    whole = False
    for rel in index.relations.values():
        part = part_of[rel.source_id]
        whole = whole or part != part_of[rel.target_id]
        relations.setdefault(part, []).append(rel)
    for fact_id, named in index.mentions.items():
        parts = {part_of[e] for e in named}
        whole = whole or len(parts) > 1
        for part in parts:
            facts.setdefault(part, []).append(fact_id)
    if whole:
        part_of = dict.fromkeys(part_of, None)
        relations = {None: list(index.relations.values())}
        facts = {None: [f for f, named in index.mentions.items() if named]}
    entities: dict[Any, list[HeldEntity]] = {}
    for entity in index.entities.values():
        entities.setdefault(part_of[entity.id], []).append(entity)

    def mentions(part: Any) -> dict[str, list[str]]:
        return {fact_id: sorted(e for e in index.mentions[fact_id] if part_of[e] == part)
                for fact_id in facts.get(part, ())}  # fmt: skip

    return entities, relations, mentions, whole


def _unloaded(parts: Parts | None) -> list[tuple[Any, bytes, np.ndarray]] | None:
    """``(scope, bytes, id hashes)`` of each part still on disk, checked; None when one
    cannot be read (then every part is loaded and encoded again)."""
    if parts is None or not parts.pending:
        return []
    try:
        blob = np.load(parts.path, mmap_mode="r", allow_pickle=False)
        out = []
        for part in sorted(parts.pending):
            start, end, expected = (int(v) for v in parts.bounds[part])
            chunk = bytes(blob[start:end])
            if zlib.adler32(chunk) != expected:
                return None
            out.append((parts.scopes[part], chunk, parts.ids[parts.owner == part]))
        return out
    except (OSError, ValueError):
        return None


def _overlap(loaded: dict[Any, Any], kept: list[tuple[Any, bytes, np.ndarray]]) -> bool:
    """Whether a part on disk shares a scope with the loaded rows (or either is the part
    with no scope): a write loads the parts of the scopes it touches, so this should not
    happen, and if it did, the parts would no longer be apart."""
    scopes = [scope for scope, *_ in kept]
    return None in scopes or None in loaded or not loaded.keys().isdisjoint(scopes)


def _scope(entity: HeldEntity) -> tuple[str, str, str]:
    return (entity.user_id or "", entity.agent_id or "", entity.run_id or "")


def open_graph(arrays: Arrays, folder: Path, name: str, blob: list[Any]) -> GraphIndex:
    """An empty copy whose parts load on demand from ``<name>.blob.npy`` in ``folder``."""
    if not NAME.fullmatch(str(name)):
        raise ValueError(f"a snapshot file name that is not a plain name: {name}")
    parts = Parts(arrays, folder / f"{name}.{BLOB}.npy", blob)
    index = GraphIndex((), (), ())
    index.parts = parts
    return index


class Parts:
    """The parts of a saved copy not loaded yet, and how to find and load them."""

    def __init__(self, arrays: Arrays, path: Path, blob: list[Any]) -> None:
        scopes = unpack(arrays["parts"])
        bounds, ids, owner = arrays["bounds"], arrays["ids"], arrays["owner"]
        check(isinstance(scopes, list) and all(s is None or (isinstance(s, list) and len(s) == 3
              and all(isinstance(v, str) for v in s)) for s in scopes), "graph parts")  # fmt: skip
        check(bounds.shape == (len(scopes), 3) and ids.shape == owner.shape, "graph part bounds")
        check(bool(np.all(ids[1:] >= ids[:-1])), "graph part ids not sorted")
        if len(owner):
            check(int(owner.min()) >= 0 and int(owner.max()) < len(scopes), "graph part owner")
        if len(bounds):
            check(bool(np.all(bounds[:, 0] <= bounds[:, 1])) and int(bounds[0, 0]) == 0
                  and bool(np.all(bounds[1:, 0] == bounds[:-1, 1])), "graph part bounds")  # fmt: skip
            check([int(bounds[-1, 1])] == list(blob[1]) and blob[0] == "|u1", "graph blob shape")
        self.scopes = [tuple(s) if s is not None else None for s in scopes]
        self.bounds, self.ids, self.owner, self.path = bounds, ids, owner, path
        self.pending = set(range(len(scopes)))
        # Parts by user, so a read in one user's scope does not test every user's part (a
        # process serving one user of thousands keeps the others pending for good).
        self._of_user: dict[str | None, list[int]] = {}
        for n, found in enumerate(self.scopes):
            self._of_user.setdefault(found[0] if found is not None else None, []).append(n)

    def covering(self, scope: Scope) -> list[int]:
        """The pending parts a read in ``scope`` may see (a part with no scope: always)."""
        if scope.user_id:
            candidates = self._of_user.get(scope.user_id, []) + self._of_user.get(None, [])
        else:
            candidates = range(len(self.scopes))
        return sorted(p for p in candidates if p in self.pending
                      and (self.scopes[p] is None or scope.matches(
                          dict(zip(SCOPE_FIELDS, self.scopes[p], strict=True)))))  # fmt: skip

    def holding(self, ids: Iterable[str]) -> list[int]:
        """The pending parts that may hold any of ``ids``."""
        keys = np.array([id_hash(t) for t in ids if type(t) is str], np.uint64)
        if not len(keys) or not len(self.ids):
            return []
        low = np.searchsorted(self.ids, keys, "left").tolist()
        high = np.searchsorted(self.ids, keys, "right").tolist()
        owner = self.owner
        found = {int(owner[at]) for a, b in zip(low, high, strict=True) for at in range(a, b)}
        return sorted(found & self.pending)

    def load(self, index: GraphIndex, part: int) -> None:
        """Read part ``part``, check it, and add its rows to ``index``."""
        try:
            start, end, expected = (int(v) for v in self.bounds[part])
            if not self.path.is_file():
                raise ValueError(f"{self.path.name}: missing or not a regular file")
            blob = np.load(self.path, mmap_mode="r", allow_pickle=False)
            chunk = bytes(blob[start:end])
            del blob
            if zlib.adler32(chunk) != expected:
                raise ValueError(f"{self.path.name}: part {part}'s checksum does not match")
            with collector_paused():  # ~40% of a part's load at 100k memories (collector.py)
                _absorb(index, Decoded(chunk), self.scopes[part])
        except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
            raise PartUnreadable(f"graph snapshot part {part}: {exc}") from exc
        self.pending.discard(part)


def _absorb(index: GraphIndex, data: Decoded, scope: tuple[str, str, str] | None) -> None:
    """A part's rows into ``index``, its maps filled in bulk and checked in bulk: through
    ``GraphIndex``'s own put and link calls it took 0.6 s at 10k memories (measured).
    Parts share no entity, relation or mention, so every row is new to ``index`` (checked)
    but a name key, which entities of several scopes may share."""
    entities = data.rows("e", HeldEntity)
    relations = data.rows("r", HeldRelation)
    entity_codes = data.codes("e.id", nullable=False)
    fact_codes = data.codes("m.facts", nullable=False)
    named = data.lists("m.named", len(fact_codes), tuple)
    facts = data.texts(fact_codes)
    ids = [e.id for e in entities]
    rel_ids = [r.id for r in relations]
    # Texts are distinct in the table, so an id listed twice is a position listed twice.
    for codes, what in ((entity_codes, "an entity"), (data.codes("r.id", nullable=False),
                        "a relation"), (fact_codes, "a fact's mentions")):  # fmt: skip
        check(len(np.unique(codes)) == len(codes), f"{what} listed twice")
    check(index.entities.keys().isdisjoint(ids), "an entity in two parts")
    check(index.relations.keys().isdisjoint(rel_ids), "a relation in two parts")
    check(index.mentions.keys().isdisjoint(facts), "a fact's mentions in two parts")
    check(all(named), "a fact naming no entity")
    ends = np.concatenate((data.codes("r.source_id", nullable=False),
                           data.codes("r.target_id", nullable=False)))  # fmt: skip
    named_codes = data.codes("m.named.flat", nullable=False)
    check(bool(np.isin(ends, entity_codes).all()), "a relation's end outside its part")
    check(bool(np.isin(named_codes, entity_codes).all()), "a mention outside its part")
    if scope is not None:
        check(all(_scope(e) == scope for e in entities), "an entity outside its part's scope")
    index.entities.update(zip(ids, entities, strict=True))
    index.relations.update(zip(rel_ids, relations, strict=True))
    index.relations_loaded()
    index.mentions.update(zip(facts, named, strict=True))
    key_sizes = data.sizes("e.keys", len(entities))
    _merge(index.by_key, *grouped(data, data.codes("e.keys.flat", nullable=False),
                                  np.repeat(entity_codes, key_sizes)))  # fmt: skip
    rel_codes = data.columns["r.id"]
    _merge(index.touching, *grouped(data, ends, np.concatenate((rel_codes, rel_codes))))
    _merge(
        index.mentioned,
        *grouped(data, named_codes, np.repeat(fact_codes, data.sizes("m.named", len(facts)))),
    )


def _merge(into: dict[str, set[str]], keys: list[str], sets: list[set[str]]) -> None:
    if into.keys().isdisjoint(keys):
        into.update(zip(keys, sets, strict=True))
        return
    for key, found in zip(keys, sets, strict=True):
        held = into.get(key)
        if held is None:
            into[key] = found
        else:
            held.update(found)
