"""A query parameter an endpoint does not take is an error, not silently dropped; nor is
a body field given twice.

Why: FastAPI ignores query parameters it was not told about. ``GET /v1/memories?agentid=
planner`` (for ``agent_id``) with a user's key then listed the user's whole scope, not
that agent's part of it; ``?limt=5`` returned a hundred; an admin's ``?userid=bob`` was
told to "give at least one of user_id, agent_id or run_id", which it thought it had.
Each is answered with 422 naming the parameter and listing those the endpoint takes,
after the key is checked (a caller without one learns nothing about the route).
"""

from __future__ import annotations

from typing import Annotated, Any, get_args, get_origin

from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from starlette.exceptions import HTTPException

from ..errors import ValidationError
from ..wire import repeated_key
from .auth import principal
from .keys import KeyInfo
from .problems import not_taken, taken


def listed(dependant: Dependant) -> set[str]:
    """Those of ``taken`` that take a list (``?memory_types=a&memory_types=b``)."""
    names = {
        field.alias for field in dependant.query_params if _is_list(field.field_info.annotation)
    }
    for sub in dependant.dependencies:
        names |= listed(sub)
    return names


def _is_list(annotation: Any) -> bool:
    if get_origin(annotation) in (list, tuple, set, frozenset):
        return True
    return any(_is_list(arg) for arg in get_args(annotation) if arg is not type(None))


async def known_query(request: Request, _key: Annotated[KeyInfo, Depends(principal)]) -> None:
    """Raise ``ValidationError`` naming the first query parameter the route does not read."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    allowed = taken(dependant)
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        where = f"{request.method} {getattr(route, 'path_format', request.url.path)}"
        name = unknown[0][:60]
        raise ValidationError(name, not_taken(name, "a query parameter", where, allowed))
    # Given twice, a single value was the last one sent, silently: ?limit=1&limit=3 read 3.
    keys = [k for k, _ in request.query_params.multi_items()]
    twice = sorted({k for k in keys if keys.count(k) > 1} - listed(dependant))
    if twice:
        raise ValidationError(twice[0][:60], "is given more than once, and it takes one "
                              "value; send it once")  # fmt: skip
    if request.method in ("POST", "PUT", "PATCH"):
        await _each_key_once(request)


async def _each_key_once(request: Request) -> None:
    """A JSON object of the body that names one key twice is refused. The parser kept the
    last value without a word: {"text": "a", "text": "b"} stored "b", while a proxy or a
    log that read the first saw "a". Starlette keeps the body read, so it is read once."""
    if "json" not in request.headers.get("content-type", ""):
        return  # answered 415 by the body's own check
    raw = await request.body()
    if b"\x00" in raw:
        # JSON between systems is UTF-8 (RFC 8259 8.1), yet Python's parser guesses UTF-16
        # and UTF-32 from the NUL bytes they hold (a NUL is never JSON), and served them.
        # Answered as the body's own check answers bytes that are not UTF-8.
        raise HTTPException(400) from ValueError("it holds NUL bytes, as UTF-16 and UTF-32 text do")
    # Not readable JSON gives None: named by the body's own check, with line and column.
    # Nested near the recursion limit, which FastAPI's parse (higher in the stack) passed,
    # None too: served as that parse read it, not answered 500.
    name = repeated_key(raw)
    if name is not None:
        raise ValidationError(name[:60], "is given more than once in one JSON object of the "
                              "request body; send each field once")  # fmt: skip
