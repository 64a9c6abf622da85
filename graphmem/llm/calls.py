"""Calls to an OpenAI-compatible endpoint, shared by the chat client (``client.py``) and
the embedder (``graphmem.embed.openai``): the ``openai`` client graphmem builds, its retry
policy, the usage counters, and errors that name the endpoint, the status and what to do.

Retries: ``tenacity`` is the only retry layer (the openai client's own is switched off, or
a flaky server would see up to 2 x 5 attempts). Rate limits, timeouts, connection failures
and 5xx are retried with capped exponential backoff; any other 4xx is a request the server
will refuse again, so it fails at once.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import openai
import tenacity

from ..errors import ConfigError, LLMError
from .deadline import DeadlinePassed, deadline_client

log = logging.getLogger("graphmem.llm")
T = TypeVar("T")

DEFAULT_DEADLINE_S = 300.0  # a whole model request, however slowly its answer comes
RETRYABLE: tuple[type[BaseException], ...] = (
    openai.RateLimitError,
    openai.APITimeoutError,
    openai.APIConnectionError,
    openai.InternalServerError,
)


@dataclass(frozen=True)
class Backoff:
    """Wait before retry ``n``: random in [0, initial * 2**n], never above ``maximum``.

    A ``Retry-After`` header from the server is honoured up to ``maximum``. Tests pass
    ``Backoff(0, 0)`` to retry without sleeping.
    """

    initial: float = 0.5
    maximum: float = 8.0


@dataclass(frozen=True)
class Usage:
    """Counters of one client. ``after - before`` gives what one operation cost."""

    calls: int = 0  # HTTP requests sent, retries included
    tokens_in: int = 0
    tokens_out: int = 0
    cache_hits: int = 0

    def __sub__(self, other: Usage) -> Usage:
        return Usage(
            self.calls - other.calls,
            self.tokens_in - other.tokens_in,
            self.tokens_out - other.tokens_out,
            self.cache_hits - other.cache_hits,
        )

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.calls + other.calls,
            self.tokens_in + other.tokens_in,
            self.tokens_out + other.tokens_out,
            self.cache_hits + other.cache_hits,
        )


class Counters:
    """Thread-safe running totals behind ``calls``/``tokens_in``/... of a client."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._usage = Usage()

    def add(
        self, calls: int = 0, tokens_in: int = 0, tokens_out: int = 0, cache_hits: int = 0
    ) -> None:
        with self._lock:
            self._usage = self._usage + Usage(calls, tokens_in, tokens_out, cache_hits)

    def snapshot(self) -> Usage:
        with self._lock:
            return self._usage


class Counted:
    """``calls``/``tokens_in``/``tokens_out``/``cache_hits`` read from ``self._counters``,
    and ``_retried`` for each request; shared by the chat client and the embeddings
    client."""

    _counters: Counters
    _client: Any
    endpoint: str
    max_retries: int
    backoff: Backoff
    timeout: float

    def _retried(self, send: Callable[[], T]) -> T:
        """``send`` under ``call_with_retries`` with this client's settings, each attempt
        counted as a call, the API key kept out of any error."""
        return call_with_retries(
            send,
            endpoint=self.endpoint,
            max_retries=self.max_retries,
            backoff=self.backoff,
            timeout=self.timeout,
            on_attempt=lambda: self._counters.add(calls=1),
            secret=str(getattr(self._client, "api_key", "") or ""),
        )

    def snapshot(self) -> Usage:
        return self._counters.snapshot()

    @property
    def calls(self) -> int:
        return self.snapshot().calls

    @property
    def tokens_in(self) -> int:
        return self.snapshot().tokens_in

    @property
    def tokens_out(self) -> int:
        return self.snapshot().tokens_out

    @property
    def cache_hits(self) -> int:
        return self.snapshot().cache_hits


# --- the retry helper shared with graphmem.embed.openai -------------------------------


def make_openai_client(
    *,
    base_url: str | None,
    api_key: str | None,
    timeout: float,
    client: openai.OpenAI | None,
    deadline: float | None = None,
) -> openai.OpenAI:
    """An ``openai.OpenAI`` with its own retries off and our timeout applied, each
    request bounded by ``deadline`` seconds in all (``deadline.py``) where given.

    ``api_key=None`` with no ``base_url`` lets the openai library read ``OPENAI_API_KEY``
    for api.openai.com, where that key belongs. With a ``base_url`` and no key a placeholder
    is sent: local servers ignore it, and an OpenAI key must not leak to another host
    because it happens to be in the environment. Pass ``api_key=`` for hosted servers.
    """
    if client is not None:
        return client.with_options(timeout=timeout, max_retries=0)
    if api_key is None and base_url is not None:
        api_key = "not-needed"
    try:
        http = deadline_client(deadline) if deadline is not None else None
        return openai.OpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=0,
                             http_client=http)  # fmt: skip
    except openai.OpenAIError as exc:
        raise ConfigError(
            f"cannot build the OpenAI client: {exc}. Pass api_key=..., set OPENAI_API_KEY, "
            "or give base_url= of a local OpenAI-compatible server."
        ) from exc


def whole_deadline(timeout: float, deadline: float | None) -> float:
    """The seconds a whole request may take: ``deadline``, checked against ``timeout`` (to
    connect, and between two pieces of an answer), or where None ``DEFAULT_DEADLINE_S``,
    or the timeout if that is longer (a timeout raised past 300 s raises the deadline
    with it)."""
    _seconds("timeout", timeout)
    if deadline is None:
        return max(DEFAULT_DEADLINE_S, float(timeout))
    _seconds("deadline", deadline)
    if deadline < timeout:
        raise ConfigError(f"deadline ({deadline:g}s, a whole request) is shorter than timeout "
                          f"({timeout:g}s, one wait within it): raise deadline or lower timeout")  # fmt: skip
    return float(deadline)


def _seconds(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigError(f"{name} must be positive seconds, got {value!r}")


def call_with_retries(
    send: Callable[[], T],
    *,
    endpoint: str,
    max_retries: int,
    backoff: Backoff,
    timeout: float,
    on_attempt: Callable[[], None] = lambda: None,
    secret: str = "",
) -> T:
    """Run ``send`` with graphmem's retry policy; translate the final failure to LLMError
    (``secret``, the API key, left out of its message)."""
    attempts = 0

    def attempt() -> T:
        nonlocal attempts
        attempts += 1
        on_attempt()
        return send()

    def wait(state: tenacity.RetryCallState) -> float:
        ceiling = backoff.initial * 2 ** (state.attempt_number - 1)
        seconds = random.uniform(0, min(ceiling, backoff.maximum))
        told = _retry_after(state.outcome.exception() if state.outcome else None)
        if told is not None:
            seconds = max(seconds, told)
        return min(seconds, backoff.maximum)

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.info(
            "%s: attempt %d failed (%s), retrying",
            endpoint,
            state.attempt_number,
            _status_text(exc),
        )

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(max_retries + 1),
        wait=wait,
        retry=tenacity.retry_if_exception_type(RETRYABLE),
        before_sleep=before_sleep,
        reraise=True,
    )
    try:
        return retrying(attempt)
    except openai.OpenAIError as exc:
        raise LLMError(_hidden(_explain(exc, endpoint, attempts, timeout), secret)) from exc
    except (ValueError, RecursionError) as exc:  # a 200 whose body is cut off or not UTF-8
        raise LLMError(_hidden(
            f"{endpoint} answered with a body that cannot be read ({type(exc).__name__}: "
            f"{str(exc)[:200]}): check that the endpoint is OpenAI-compatible, or a proxy "
            "in between", secret)) from exc  # fmt: skip


def _hidden(text: str, secret: str) -> str:
    """``text`` less the API key: a server or proxy that echoes the key it refused
    ("Incorrect API key provided: sk-...") put it in the error, which the REST server
    answers and logs."""
    if len(secret) >= 8:
        text = text.replace(secret, "[redacted]")
        for part in {secret[:-4], secret[4:]}:  # quoted with its ends elided
            if len(part) >= 12:
                text = text.replace(part, "[redacted]")
    return text


def _retry_after(exc: BaseException | None) -> float | None:
    response = getattr(exc, "response", None)
    if response is None:
        return None
    value = response.headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP-date: rare enough that our own backoff is good enough


def _status_text(exc: BaseException | None) -> str:
    if isinstance(exc, openai.APITimeoutError):
        return "timed out"
    if isinstance(exc, openai.APIConnectionError):
        return "connection failed"
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code}"
    return type(exc).__name__


def _never_connected(exc: BaseException) -> bool:
    """Whether the transport failed to connect at all (refused, no route, unknown host),
    rather than after the request went out. ``openai`` raises ``APIConnectionError`` for
    both, with the transport's own error as its cause; that error is told by its class
    name (``ConnectError``, ``ConnectTimeout``), since the transport is ``openai``'s to
    choose. A chain with no transport error in it reads as never connected, as before."""
    cause, seen = exc.__cause__ or exc.__context__, 0
    while cause is not None and seen < 8:
        if type(cause).__name__ in ("ConnectError", "ConnectTimeout"):
            return True
        if type(cause).__name__ in ("RemoteProtocolError", "ReadError", "WriteError"):
            return False
        cause, seen = cause.__cause__ or cause.__context__, seen + 1
    return True


def _deadline_passed(exc: BaseException) -> DeadlinePassed | None:
    cause, seen = exc.__cause__ or exc.__context__, 0
    while cause is not None and seen < 8:
        if isinstance(cause, DeadlinePassed):
            return cause
        cause, seen = cause.__cause__ or cause.__context__, seen + 1
    return None


def _explain(exc: openai.OpenAIError, endpoint: str, attempts: int, timeout: float) -> str:
    tries = f"after {attempts} attempt{'s' if attempts != 1 else ''}"
    passed = _deadline_passed(exc)
    if passed is not None:
        advice = (f"{passed}, though it kept coming (a server or proxy trickling it): check "
                  "the server, or raise deadline= (llm_deadline_s)")  # fmt: skip
    elif isinstance(exc, openai.APITimeoutError):
        advice = (
            f"no answer within {timeout:g}s: check that the server is up and the model "
            "loaded, or raise timeout="
        )
    elif isinstance(exc, openai.APIConnectionError) and not _never_connected(exc):
        advice = (
            "the connection broke off before a whole answer came back (the server closed "
            "it or sent a malformed response): check the server's logs and any proxy in between"
        )
    elif isinstance(exc, openai.APIConnectionError):
        advice = "could not connect: check base_url= and that the server is running"
    elif isinstance(exc, openai.RateLimitError):
        advice = "rate limited: lower concurrency, check your quota, or raise max_retries="
    elif isinstance(exc, openai.InternalServerError):
        advice = "the server failed: check its logs or status page and try again later"
    elif isinstance(exc, openai.AuthenticationError):
        advice = "the API key was refused: pass api_key= or set OPENAI_API_KEY"
    elif isinstance(exc, openai.NotFoundError):
        advice = "not found: check model= and base_url= (which usually ends in /v1)"
    elif isinstance(exc, openai.APIStatusError):
        advice = (
            "the request was refused and will not be retried: read the server's message; "
            "a chat model without tool calling needs GRAPHMEM_LLM_USE_TOOLS=0 "
            "(llm_use_tools=False), one that takes no temperature GRAPHMEM_LLM_TEMPERATURE=default"
        )
    else:
        advice = "the response could not be used: check that the endpoint is OpenAI-compatible"
    detail = getattr(exc, "message", None) or str(exc)
    return f"{endpoint} failed {tries} ({_status_text(exc)}: {detail}); {advice}"


def not_openai_compatible(endpoint: str, detail: str) -> LLMError:
    return LLMError(
        f"{endpoint} did not answer as an OpenAI-compatible API ({detail}); check base_url= "
        "(it usually ends in /v1) and that it points at the model server, not a web page, "
        "proxy or login portal"
    )
