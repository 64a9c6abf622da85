"""How ``EdgeVectorStore`` lays out a payload in Qdrant Edge, and reads it back.

Measured on qdrant-edge-py 0.9: the binding converts every payload string separately,
~7 us each, so a 13-key fact payload cost 130 us to build, more than Qdrant took to store
it. So only the non-empty values of the keys reads filter on (``INDEXED_KEYS``: the scope
fields and ``invalid_at``, keyword-indexed) stay Qdrant payload fields. The rest of a
payload, empty ``invalid_at`` included, travels as one JSON string under ``_doc`` and is
unpacked on every read: callers get back exactly what they stored (unset scope fields as
"", as every store returns them). Filters on packed keys are still honoured, in Python,
over the points Qdrant's own conditions let through: correct, slower. A missing
``invalid_at`` counts as empty, like a stored "".
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..errors import ValidationError
from ..models import SCOPE_FIELDS
from .vector_checks import Condition

# Payload keys every read filters on: the scope, and "is this fact still valid".
INDEXED_KEYS = (*SCOPE_FIELDS, "invalid_at")
DOC = "_doc"  # the rest of a payload, packed as one JSON string


def pack(payload: dict[str, Any]) -> dict[str, Any]:
    if DOC in payload:
        raise ValidationError("payload", f"the key {DOC!r} is reserved by the Edge store")
    top = {k: payload[k] for k in INDEXED_KEYS if payload.get(k) not in (None, "")}
    rest = {k: v for k, v in payload.items() if k not in top and k not in SCOPE_FIELDS}
    if rest:
        try:
            top[DOC] = json.dumps(rest, ensure_ascii=False, separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            raise ValidationError("payload", f"must be JSON-serialisable: {exc}") from None
    return top


def unpack(raw: Mapping[str, Any] | None) -> dict[str, Any]:
    payload = dict.fromkeys(SCOPE_FIELDS, "")  # the store fills unset scope fields with ""
    payload.update(raw or {})
    doc = payload.pop(DOC, None)
    if doc:
        payload.update(json.loads(doc))
    return payload


def split(must: list[Condition]) -> tuple[list[Condition], list[Condition]]:
    """Conditions Qdrant can check (indexed keys) and those checked here after unpacking.

    ``(key, "")`` on an indexed key becomes Qdrant's is-empty test, since empty values are
    not stored; an any-of list holding "" is checked here."""
    indexed = [c for c in must if c[0] in INDEXED_KEYS and not _holds_empty(c[1])]
    return indexed, [c for c in must if c not in indexed]


def _holds_empty(value: Any) -> bool:
    return isinstance(value, list) and "" in value


def passes(payload: Mapping[str, Any], packed: list[Condition]) -> bool:
    """Qdrant's equality semantics: a value matches, or a list value contains it."""
    for key, want in packed:
        have: Any = payload
        for part in key.split("."):  # dotted keys reach into nested objects, as in Qdrant
            have = have.get(part) if isinstance(have, Mapping) else None
        wanted = want if isinstance(want, list) else [want]
        values = have if isinstance(have, list) else [have]
        if not any(_same(v, w) for v in values for w in wanted):
            return False
    return True


def _same(value: Any, wanted: Any) -> bool:
    # Qdrant never equates a boolean with an integer, nor "1" with 1.
    return type(value) is type(wanted) and value == wanted
