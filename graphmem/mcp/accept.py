"""Which answer a POST to ``/mcp`` may get, by its Accept header.

The MCP spec asks a client to accept both ``application/json`` and ``text/event-stream``,
and the SDK refused any other (406, "Client must accept both ..."). One JSON answer is all
a request needs, so a client that takes JSON alone, or sends no Accept header (any type,
by HTTP's rules), is served: its request goes to the SDK as if it took both, and the
event stream that comes back is sent as one JSON body. The SDK's JSON mode would do the
same, but for a whole server, streaming clients included.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import mcp_types as types
from mcp.server.streamable_http import check_accept_headers
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse

from .batch import Captured
from .vet import error, usable_id

BOTH = b"application/json, text/event-stream"


def answer_as(headers: Headers) -> str:
    """How a POST's answer may go by its Accept header, read by the SDK's own reading
    (wildcards included): "both" (an event stream, as the SDK sends it), "json" (JSON, not
    a stream: one JSON body), "stream" (a stream and not JSON) or "none". A missing or
    blank header takes any type (HTTP's rule), and gets JSON, the simpler of the two."""
    if not headers.get("accept", "").strip():
        return "json"
    takes_json, takes_stream = check_accept_headers(Request({"type": "http",
                                                             "headers": headers.raw}))  # fmt: skip
    if takes_json:
        return "both" if takes_stream else "json"
    return "stream" if takes_stream else "none"


def with_headers(scope: dict, changes: Mapping[bytes, bytes | None]) -> dict:
    """``scope`` (an ASGI request's) with each header named in ``changes`` (lower-case)
    set to its value, or dropped where the value is None."""
    kept = [(k, v) for k, v in scope["headers"] if k.lower() not in changes]
    added = [(k, v) for k, v in changes.items() if v is not None]
    return {**scope, "headers": [*kept, *added]}


def not_acceptable(headers: Headers) -> JSONResponse:
    """The 406 for an Accept header that takes neither JSON nor an event stream. The SDK
    gave one too, but only after opening a session for it, whose id went back with the
    refusal."""
    accept = headers.get("accept", "")[:80]
    return JSONResponse({"jsonrpc": "2.0", "id": None, "error": {
        "code": types.INVALID_REQUEST, "message": f"Not Acceptable: Accept is {accept!r}, which "
        "takes neither application/json nor text/event-stream; send Accept: "
        "application/json, text/event-stream (or application/json alone for plain JSON "
        "answers)"}}, status_code=406)  # fmt: skip


async def send_as_json(captured: Captured, send: Any, item: dict[str, Any]) -> None:
    """Send ``captured`` as a client that takes only JSON can read it: an event stream's
    answer as one JSON body, under the stream's status and headers (the session's id
    among them). A JSON body or an empty one goes as it came."""
    headers, body = captured.headers, bytes(captured.body)
    if captured.media == "text/event-stream":
        found = captured.answers(item) or [error(usable_id(item), types.INTERNAL_ERROR,
            "Internal error: the answer's stream ended with no answer; send the request "
            "again").model_dump(by_alias=True, exclude_unset=True)]  # fmt: skip
        body = json.dumps(found[-1], separators=(",", ":")).encode()
        kept = [(k, v) for k, v in headers if k.lower() not in _STREAM_HEADERS]
        headers = [*kept, (b"content-type", b"application/json"),
                   (b"content-length", str(len(body)).encode())]  # fmt: skip
    await send({"type": "http.response.start", "status": captured.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# What describes an event stream and not the JSON body sent in its place.
_STREAM_HEADERS = (b"content-type", b"content-length", b"cache-control", b"connection",
                   b"x-accel-buffering", b"transfer-encoding")  # fmt: skip


def media_type(headers: Headers) -> str:
    """The request's Content-Type, less its parameters and in lower case ("" if none)."""
    return headers.get("content-type", "").split(";")[0].strip().lower()
