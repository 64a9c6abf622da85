"""Who is calling, what they may see, and how often.

A key is bound to a scope (any of ``user_id``, ``agent_id``, ``run_id``) or is an admin
key. A scoped key's request may leave the scope out (the key's is used), repeat it, or
narrow it (a user key naming one of that user's agents); naming any other value is
treated as asking for something that does not exist: 404 for a call about one id or
entity, 403 for a scope-wide call. Nothing reaches ``Memory`` without a scope the key
covers, so every read and write below is already confined.
"""

from __future__ import annotations

import math
import time
from typing import Annotated, Any

from fastapi import Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import Headers

from ..errors import AuthError, NotFoundError, RateLimitError
from ..models import SCOPE_FIELDS
from .keys import KeyInfo
from .problems import KEYLIKE, forbidden


def scope_for(key: KeyInfo, given: dict[str, Any], *, by_id: bool) -> dict[str, str | None]:
    """The scope arguments for ``Memory``: the request's, checked against the key's."""
    out: dict[str, str | None] = {}
    for name in SCOPE_FIELDS:
        mine, asked = getattr(key, name), given.get(name)
        if mine and asked is not None and asked != mine:
            if by_id:
                # The same answer a missing id gets: another scope's data does not exist here.
                raise NotFoundError("not found in this key's scope")
            shown = "a value that looks like an API key" if KEYLIKE.search(str(asked)) \
                else repr(asked)  # fmt: skip
            raise forbidden(f"this key may not use {name}={shown}")
        out[name] = asked if asked is not None else (mine or None)
    return out


_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer gm_...")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="or X-API-Key: gm_...")


async def principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    header: Annotated[str | None, Security(_header)],
) -> KeyInfo:
    """The request's live key (``Authorization: Bearer`` or ``X-API-Key``), else 401."""
    del bearer, header  # named for /docs; presented_key reads every such header
    return request.app.state.graphmem.authenticate(presented_key(request.headers))


def presented_key(headers: Headers) -> str | None:
    """The one API key a request carries, in ``Authorization: Bearer`` or ``X-API-Key``.

    Two different keys are refused, whichever headers carry them. The first one found
    used to win without a word, so a request a proxy let through for one key ran in the
    scope of another. The same key sent twice is one key. The error names the headers,
    never what they hold: error texts end up in logs.
    """
    found = [value[7:] for value in headers.getlist("authorization")
             if value[:7].lower() == "bearer "]  # fmt: skip
    found += headers.getlist("x-api-key")
    keys = {k.strip(" \t") for k in found} - {""}
    if len(keys) > 1:
        raise AuthError(f"the request carries {len(keys)} different API keys (in "
                        "Authorization: Bearer or X-API-Key headers): send one")  # fmt: skip
    return keys.pop() if keys else None


class RateLimiter:
    """A token bucket per key: ``rate`` requests a second on average, ``burst`` at once.

    Kept in memory: it only needs to be right within this process, which is the one that
    owns the stores. Used from the event loop only, so it needs no lock.
    """

    def __init__(self, rate: float, burst: int | None = None) -> None:
        self.rate = float(rate)
        self.burst = float(burst if burst else max(1, math.ceil(rate)))
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key_id: str) -> None:
        if self.rate <= 0:
            return
        now = time.monotonic()
        tokens, then = self._buckets.get(key_id, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        if tokens < 1.0:
            self._buckets[key_id] = (tokens, now)
            wait = (1.0 - tokens) / self.rate
            raise RateLimitError(
                f"rate limit of {self.rate:g} requests/s for this key reached; "
                f"retry in {wait:.2f} s",
                retry_after=wait,
            )
        self._buckets[key_id] = (tokens - 1.0, now)
