"""JSON-RPC batches: an array of messages sent as one line or one HTTP body.

Protocol 2025-03-26 says an implementation MUST accept a batch, and 2024-11-05 follows
JSON-RPC 2.0, which has them. graphmem serves both versions, but the MCP SDK reads one
message per line or body, so a batch was refused whole ("not a JSON-RPC 2.0 message")
and a client of those versions that batched got none of its answers. 2025-06-18 removed
batches; a batch sent under a later version is served the same way, as refusing it
would protect nothing.

Each message of a batch is served as if it had come alone (the same checks, errors and
scope), in order. Over HTTP the answers come back as one JSON array, as JSON-RPC asks;
on stdio each answer is its own line, as every other answer there is: the SDK clients
read a stdio line as one message, and match answers to requests by id.

Over HTTP, ``initialize`` may not be batched (2025-03-26 says so: the session opens with
its answer, whose header carries the session's id). A batch must hold at least one
message, each an object; anything else is refused whole, as before.
"""

from __future__ import annotations

import json
from typing import Any

import mcp_types as types

from .vet import UNDECODED, error, usable_id

RATE_LIMITED = -32000  # JSON-RPC's range for server errors


def batch_items(raw: bytes | str) -> list[dict[str, Any]] | None:
    """The messages of ``raw`` if it is a batch (a non-empty JSON array of objects), else
    None: a single message, or something the usual checks refuse (``vet.py``). Bytes that
    are not UTF-8 (on stdio, read as lone surrogates) leave it whole, so the refusal names
    the byte, as for any line."""
    if raw.lstrip()[:1] not in (b"[", "[") or (isinstance(raw, str) and UNDECODED.search(raw)):
        return None
    try:
        parsed = json.loads(raw)
    except (ValueError, TypeError, RecursionError):
        return None
    if not isinstance(parsed, list) or not parsed:
        return None
    return parsed if all(isinstance(item, dict) for item in parsed) else None


def encoded(item: dict[str, Any]) -> bytes:
    """One message of a batch as the body or line it would have been sent as alone
    (escaped ASCII, so a lone surrogate reaches the usual checks as ``\\udXXX``)."""
    return json.dumps(item).encode("ascii")


def in_batch_refusal(item: dict[str, Any]) -> types.JSONRPCError | None:
    """The error for a message no batch may carry (``initialize``), or None."""
    if item.get("method") != "initialize":
        return None
    return error(usable_id(item), types.INVALID_REQUEST, "Invalid Request: initialize may not "
                 "be part of a batch; send it alone, then batch the requests after it")  # fmt: skip


def missing_session(item: dict[str, Any], header: str) -> types.JSONRPCError:
    """The error for a message of a batch sent without a session (``http.py``)."""
    return error(usable_id(item), types.INVALID_REQUEST, f"Bad Request: no {header} header; "
                 "send the one initialize answered with, or send initialize without it to "
                 "open a session")  # fmt: skip


def rate_limited(item: dict[str, Any], why: str) -> types.JSONRPCError:
    return error(usable_id(item), RATE_LIMITED, f"Rate limited: {why}; this message of the batch "
                 "was not served, send it again then")  # fmt: skip


def answerable(item: dict[str, Any]) -> bool:
    """Whether ``item`` is a request, which gets an answer (a notification or a response
    the client sends gets none)."""
    return "method" in item and "id" in item


class Captured:
    """An ASGI ``send`` that keeps one response, to read its JSON-RPC answers after."""

    def __init__(self) -> None:
        self.status = 500
        self.media = ""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = bytearray()

    async def __call__(self, message: dict[str, Any]) -> None:
        if message.get("type") == "http.response.start":
            self.status = int(message.get("status", 500))
            self.headers = list(message.get("headers") or ())
            for name, value in self.headers:
                if name.lower() == b"content-type":
                    self.media = value.decode("latin-1").split(";")[0].strip().lower()
        elif message.get("type") == "http.response.body":
            self.body += message.get("body", b"")

    def answers(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        """The JSON-RPC answers in the response (none for a 202): its JSON body, or the
        answers among an event stream's events (notifications sent on the way, such as
        progress, are not answers and stay out of the batch's array). An error the SDK
        gave with no id ("Missing session ID") answers ``item``, so it gets the item's
        id: in an array of answers, one with none could not be matched."""
        if self.status == 202 or not self.body:
            return []
        if self.media == "text/event-stream":
            found = [_json(data) for data in _event_data(bytes(self.body))]
            return [a for a in found if isinstance(a, dict) and ("result" in a or "error" in a)]
        parsed = _json(bytes(self.body))
        if isinstance(parsed, dict):
            if parsed.get("id") is None and "error" in parsed and answerable(item):
                parsed = {**parsed, "id": usable_id(item)}
            return [parsed]
        if isinstance(parsed, list):
            return [a for a in parsed if isinstance(a, dict)]
        text = bytes(self.body[:200]).decode("utf-8", "replace")
        failed = error(usable_id(item), types.INTERNAL_ERROR, f"Internal error: HTTP {self.status} "
                       f"with no JSON-RPC answer ({text!r}); send this message alone")  # fmt: skip
        return [failed.model_dump(by_alias=True, exclude_unset=True)]


def _event_data(stream: bytes) -> list[bytes]:
    """The ``data`` of each event of a server-sent event stream (events with none are
    left out)."""
    events, lines = [], []
    for line in [*stream.splitlines(), b""]:
        if not line:
            if lines:
                events.append(b"\n".join(lines))
            lines = []
        elif line.startswith(b"data:"):
            lines.append(line[5:].removeprefix(b" "))
    return [data for data in events if data.strip()]


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None
