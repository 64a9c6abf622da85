"""A deadline for a whole model request, however its answer arrives.

httpx's timeouts, which ``openai`` applies, bound the wait to connect and the wait for
each next piece of an answer. A server or proxy that trickles its answer (a byte every
few seconds, or the whitespace some proxies send to keep a connection open) held a
request, and the ``add()`` waiting on it, for as long as it kept sending: on ``graphmem
serve``, that is the write lane every other write waits behind. Here a request fails with
``DeadlinePassed`` (a read timeout, retried and explained as one) once its answer is still
coming ``seconds`` after it was sent, checked as each piece arrives.

Only for the clients graphmem builds: an ``openai.OpenAI`` passed in (``client=``) keeps
its own transport.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx

# What ``openai``'s own client pools and follows (its DEFAULT_CONNECTION_LIMITS).
_LIMITS = httpx.Limits(max_connections=1000, max_keepalive_connections=100)


class DeadlinePassed(httpx.ReadTimeout):
    """The answer was not whole when the request's deadline passed."""


def deadline_client(seconds: float) -> httpx.Client:
    """An HTTP client as ``openai`` builds its own, each request bounded by ``seconds``."""
    transport = _Deadline(httpx.HTTPTransport(limits=_LIMITS), seconds)
    client = httpx.Client(transport=transport, follow_redirects=True)
    # Proxies named in the environment get transports of their own ("mounts"), which
    # httpx builds itself: they are bounded the same way.
    mounts = getattr(client, "_mounts", None)
    if isinstance(mounts, dict):
        for pattern, transport in list(mounts.items()):
            if transport is not None:
                mounts[pattern] = _Deadline(transport, seconds)
    return client


class _Deadline(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, seconds: float) -> None:
        self.inner, self.seconds = inner, seconds

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        ends = time.monotonic() + self.seconds
        response = self.inner.handle_request(request)
        response.stream = _Bounded(response.stream, ends, self.seconds, request)
        return response

    def close(self) -> None:
        self.inner.close()


class _Bounded(httpx.SyncByteStream):
    """An answer's body that raises ``DeadlinePassed`` on the first piece to arrive (or
    the headers, if they were the last thing to) after ``ends``."""

    def __init__(self, stream, ends: float, seconds: float, request: httpx.Request) -> None:
        self.stream, self.ends, self.seconds, self.request = stream, ends, seconds, request

    def __iter__(self) -> Iterator[bytes]:
        self._check()
        for chunk in self.stream:
            self._check()
            yield chunk

    def _check(self) -> None:
        if time.monotonic() > self.ends:
            raise DeadlinePassed(f"the answer was still arriving {self.seconds:g}s after the "
                                 "request was sent", request=self.request)  # fmt: skip

    def close(self) -> None:
        self.stream.close()
