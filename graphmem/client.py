"""``Client`` and ``AsyncClient``: a graphmem server behind the ``Memory`` interface.

Both are generated from ``graphmem/api.py``: one definition of every endpoint, two
transports (``httpx.Client`` and ``httpx.AsyncClient``). Calls take the arguments
``Memory`` takes and return the same objects (``Fact``, ``Hit``, ``Relation``...). A
server error comes back as the ``GraphMemError`` subclass the server raised, named in
the problem+json body, with its ``field`` when it has one.

    >>> with Client("http://127.0.0.1:8765", api_key="gm_...") as m:   # doctest: +SKIP
    ...     m.add("Alice works at Acme.")          # the key's scope is filled in
    ...     m.search("where does Alice work?")[0].explain()
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from . import errors
from .api import OPS, GraphNamespace, Op, install

DEFAULT_TIMEOUT = 60.0


def _httpx():
    try:
        import httpx
    except ImportError:  # the server extra was not installed
        raise errors.ConfigError(
            "graphmem.Client needs httpx: pip install 'graphmem[server]'"
        ) from None
    return httpx


def error_from_problem(status: int, body: Any, headers: Any = None) -> errors.GraphMemError:
    """The ``GraphMemError`` a problem+json answer stands for (the base class if unknown)."""
    body = body if isinstance(body, dict) else {}
    name = str(body.get("error") or "")
    detail = str(body.get("detail") or body.get("title") or f"HTTP {status}")
    cls = getattr(errors, name, None)
    if not (isinstance(cls, type) and issubclass(cls, errors.GraphMemError)):
        cls = errors.BackendUnavailableError if status >= 500 else errors.GraphMemError
    if issubclass(cls, errors.ValidationError):
        field = str(body.get("field") or "request")
        prefix = f"{field}: "
        exc = cls(field, detail[len(prefix) :] if detail.startswith(prefix) else detail)
    elif issubclass(cls, errors.RateLimitError):
        retry = (headers or {}).get("retry-after") or body.get("retry_after") or 1
        exc = cls(detail, retry_after=float(retry))
    elif issubclass(cls, errors.ExtractionError):
        exc = cls(detail)
    elif issubclass(cls, errors.QueryError):
        exc = cls(detail, query_name=body.get("query_name"))
    else:
        exc = cls(detail)
    exc.status = status  # type: ignore[attr-defined]
    return exc


class _Base:
    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        transport: Any = None,
    ) -> None:
        url = url or os.environ.get("GRAPHMEM_URL", "")
        # A key read from a file or a variable often ends in a newline, which no header
        # may hold ("Illegal header value", reported as the server being unavailable).
        api_key = (api_key or os.environ.get("GRAPHMEM_API_KEY", "")).strip()
        if not url:
            raise errors.ConfigError("give the server's url (or set GRAPHMEM_URL)")
        if not api_key:
            raise errors.ConfigError("give an api_key (or set GRAPHMEM_API_KEY)")
        self.url = url.rstrip("/")
        self.graph = _RemoteRelations(self)
        self._http = self._open(
            base_url=self.url,
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout,
            **({"transport": transport} if transport is not None else {}),
        )

    def _open(self, **kwargs: Any) -> Any:
        raise NotImplementedError

    def __repr__(self) -> str:  # never the key
        return f"{type(self).__name__}({self.url!r})"

    @staticmethod
    def _answer(op: Op, response: Any) -> Any:
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {"detail": response.text[:500]}
            raise error_from_problem(response.status_code, body, response.headers)
        return op.decode(response.json() if response.content else None)


class Client(_Base):
    """A graphmem server through ``httpx.Client``: the ``Memory`` methods, blocking."""

    def _open(self, **kwargs: Any) -> Any:
        return _httpx().Client(**kwargs)

    def _call(self, op: Op, args: tuple, kwargs: dict) -> Any:
        path, params, body = op.request(args, kwargs)
        try:
            response = self._http.request(op.http, path, params=params, json=body)
        except _httpx().TransportError as exc:
            raise errors.BackendUnavailableError(f"graphmem server {self.url}: {exc}") from exc
        except _httpx().InvalidURL as exc:
            raise _unsendable(op, exc) from None
        return self._answer(op, response)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient(_Base):
    """A graphmem server through ``httpx.AsyncClient``: the ``Memory`` methods, awaited."""

    def _open(self, **kwargs: Any) -> Any:
        return _httpx().AsyncClient(**kwargs)

    async def _call(self, op: Op, args: tuple, kwargs: dict) -> Any:
        path, params, body = op.request(args, kwargs)
        try:
            response = await self._http.request(op.http, path, params=params, json=body)
        except _httpx().TransportError as exc:
            raise errors.BackendUnavailableError(f"graphmem server {self.url}: {exc}") from exc
        except _httpx().InvalidURL as exc:
            raise _unsendable(op, exc) from None
        return self._answer(op, response)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _unsendable(op: Op, exc: Exception) -> errors.ValidationError:
    """A call whose values make no URL httpx will send: a GET's values go in its query
    string, which httpx caps at 65,536 characters (it raised ``InvalidURL``)."""
    return errors.ValidationError("request", f"{op.name}: {exc}: a value is too long to "
                                  "send in a URL; send a shorter one")  # fmt: skip


class _RemoteRelations(GraphNamespace):
    """The relationship API of this surface (methods installed below)."""


def _make(op: Op) -> Callable[..., Any]:
    # One body for both transports: Client._call returns the value, AsyncClient._call a
    # coroutine the caller awaits.
    def method(self, *args: Any, **kwargs: Any) -> Any:
        return self._call(op, args, kwargs)

    return method


install(_Base, _RemoteRelations, _make)

__all__ = ["OPS", "AsyncClient", "Client", "error_from_problem"]
