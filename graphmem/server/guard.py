"""Which Host and Origin headers the server answers, and what its answers may be kept as.

**Host and Origin (DNS rebinding).** A web page on a name that resolves to this machine
(``attacker.example`` -> 127.0.0.1) reaches a local server with the page's name in the
Host header. ``/mcp`` refused such requests; the REST routes, ``/ui`` and ``/readyz``
answered them (found by an audit with a foreign Host): the page could read the server's
health details and serve the genuine explorer under its own origin, where its script can
read the key the user types. A server bound to a loopback interface now answers only
its local names (and the ``--allowed-host`` ones) on every route, and a request whose
Origin is some other site is refused. One bound to another interface is there to be
reached by other names: it checks only if given ``--allowed-host`` names.

**Caching.** Answers under ``/v1`` carry ``Cache-Control: no-store``: a browser kept
the explorer's private answers (memory texts, the graph) in its disk cache after the
tab was closed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import Headers

LOCAL_NAMES = ("127.0.0.1", "localhost", "[::1]")
_OWN_CHECK = ("/mcp",)  # answers in JSON-RPC, by the same rules (mcp/http.py)


@dataclass(frozen=True)
class Names:
    """The Host forms (``name`` or ``name:*`` for any port) and Origins a server answers;
    ``checked`` False: any."""

    checked: bool
    hosts: tuple[str, ...] = ()
    origins: tuple[str, ...] = ()

    def host_ok(self, host: str | None) -> bool:
        return not self.checked or (bool(host) and listed(host or "", self.hosts))

    def origin_ok(self, origin: str | None) -> bool:
        return not self.checked or not origin or listed(origin, self.origins)


def names_for(bound: str, allowed: Sequence[str] = (), pages: Sequence[str] = ()) -> Names:
    """What a server bound to ``bound`` with ``--allowed-host`` names ``allowed`` answers;
    ``pages``: the ``--cors-origin`` origins, whose pages may call it too."""
    if not allowed and not loopback(bound):
        return Names(False)
    names = (*LOCAL_NAMES, *(n.strip() for n in allowed if n.strip()))
    hosts = tuple(form for name in names
                  for form in ((name,) if has_port(name) else (name, f"{name}:*")))  # fmt: skip
    origins = tuple(f"{scheme}://{form}" for scheme in ("http", "https") for form in hosts)
    return Names(True, hosts, (*origins, *pages))


def web_origin(text: str) -> str:
    """A web page's origin as a browser sends it (``https://app.example``,
    ``http://localhost:5173``), for ``--cors-origin``; ValueError naming the fix else.
    "*" is refused: a key in a page of any site is a key any site can use."""
    text = text.strip()
    if text == "*":
        raise ValueError("'*' would let a page of any site call the server with a key it "
                         "holds: name each origin, e.g. https://app.example")  # fmt: skip
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError:
        port, parts = None, parts._replace(netloc="")
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username:
        raise ValueError(f"{text[:80]!r} is not a web origin: give scheme and host, "
                         "e.g. https://app.example or http://localhost:5173")  # fmt: skip
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"{text[:80]!r} has a path: an origin is scheme, host and port only, "
                         f"e.g. {parts.scheme}://{parts.netloc}")  # fmt: skip
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


def listed(value: str, allowed: Sequence[str]) -> bool:
    """``value`` is one of ``allowed``, where ``name:*`` stands for the name with any port."""
    return any(value == form or (form.endswith(":*") and value.startswith(form[:-1]))
               for form in allowed)  # fmt: skip


def loopback(host: str) -> bool:
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name other than localhost: whatever it resolves to, not loopback-only


def has_port(name: str) -> bool:
    return name.rsplit("]", 1)[-1].count(":") == 1


class Guard:
    """ASGI middleware: refuses a foreign Host (421) or Origin (403) with a problem
    document naming the fix, and marks ``/v1`` answers ``no-store``."""

    def __init__(self, app: Any, names: Names) -> None:
        self.app, self.names = app, names

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        if not path.startswith(_OWN_CHECK):
            refusal = self._refusal(Headers(scope=scope))
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        if not path.startswith("/v1"):
            await self.app(scope, receive, send)
            return

        async def sending(message: dict) -> None:
            if message.get("type") == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() != b"cache-control"]  # fmt: skip
                message = {**message, "headers": [*headers, (b"cache-control", b"no-store")]}
            await send(message)

        await self.app(scope, receive, sending)

    def _refusal(self, headers: Headers) -> Any:
        from .problems import problem

        host, origin = headers.get("host"), headers.get("origin")
        if not self.names.host_ok(host):
            return problem(421, "MisdirectedRequest",
                           f"Host {(host or '')[:80]!r} is not a name this server answers on "
                           "(a DNS-rebinding guard); connect to 127.0.0.1 or localhost, or "
                           "start graphmem serve with --allowed-host NAME for each name "
                           "clients use")  # fmt: skip
        if not self.names.origin_ok(origin):
            return problem(403, "ForbiddenOrigin",
                           f"a page from Origin {(origin or '')[:80]!r} may not call this "
                           "server (a DNS-rebinding guard); call from a local page, or start "
                           "graphmem serve with --cors-origin ORIGIN for the page's origin")  # fmt: skip
        return None
