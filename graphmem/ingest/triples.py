"""``Memory.add_triples``: a caller's own ``(source, relation, target)`` triples, checked
and turned into the unit and extraction the write path takes, with no model involved."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import ValidationError
from ..models import (
    ExtractedEntity,
    ExtractedFact,
    ExtractedRelation,
    Extraction,
    check_relation_name,
)
from .pipeline import Unit
from .units import units_of
from .validate import check_keys, check_text, check_timestamp, check_unicode

TRIPLE_KEYS = ("source", "relation", "target", "source_type", "target_type", "valid_at")


def triples_unit(triples: Any, fact: str | None, metadata: Any, source_ids: Any,
                 timestamp: Any, max_chars: int) -> tuple[Unit, Extraction]:  # fmt: skip
    """The unit and extraction of ``triples``: each is supported by ``fact`` when given,
    else by a memory reading "source relation target"."""
    if isinstance(triples, str | bytes | Mapping) or not isinstance(triples, Sequence):
        raise ValidationError("triples", "must be a list of (source, relation, target)")
    if not triples:
        raise ValidationError("triples", "is empty")
    parsed = [check_triple(t, i, max_chars) for i, t in enumerate(triples)]
    texts = (
        [fact] if fact is not None else [f"{s} {r.replace('_', ' ')} {t}" for s, r, t, *_ in parsed]
    )
    unit = units_of([{"role": "user", "content": x} for x in texts], metadata, source_ids,
                    timestamp, limit=max_chars, whole=True)[0]  # fmt: skip
    found = Extraction(facts=[ExtractedFact(m.content, unit.timestamp) for m in unit.messages])
    for i, (src, rel, dst, src_type, dst_type, valid_at) in enumerate(parsed):
        found.entities += [ExtractedEntity(src, src_type), ExtractedEntity(dst, dst_type)]
        index = 0 if fact is not None else i
        found.relations.append(ExtractedRelation(src, rel, dst, index, valid_at=valid_at))
    return unit, found


def check_triple(item: Any, i: int, max_chars: int) -> tuple[str, str, str, str, str, str]:
    """Triple ``i`` as (source, relation, target, source type, target type, valid_at)."""
    where = f"triples[{i}]"
    if isinstance(item, Mapping):
        check_keys(item, where, "a triple", TRIPLE_KEYS)
        values = [item.get("source"), item.get("relation"), item.get("target")]
        types = [item.get("source_type") or "other", item.get("target_type") or "other"]
        valid_at = check_timestamp(item.get("valid_at"), f"{where}.valid_at")
    elif isinstance(item, Sequence) and not isinstance(item, str) and len(item) == 3:
        values, types, valid_at = list(item), ["other", "other"], ""
    else:
        raise ValidationError(where, "must be (source, relation, target) or a dict with those keys")
    src = check_text(values[0], f"{where}.source", max_chars)
    rel = check_relation_name(values[1], f"{where}.relation")
    dst = check_text(values[2], f"{where}.target", max_chars)
    for t, name in zip(types, ("source_type", "target_type"), strict=True):
        if not isinstance(t, str) or len(t) > 100:
            raise ValidationError(f"{where}.{name}", "must be a string of at most 100 characters")
        check_unicode(t, f"{where}.{name}")
    return src, rel, dst, types[0], types[1], valid_at
