"""Errors as ``application/problem+json`` (RFC 9457), carrying graphmem's error class.

Every answer the server gives for a failure has the same shape:
``{type, title, status, detail, error, field?}``, where ``error`` is the name of the
``GraphMemError`` subclass (``NotFoundError``, ``ValidationError``...), so a client in any
language can branch on it and ``graphmem.Client`` raises the same class again.
"""

from __future__ import annotations

import json
import logging
import math
import re
from typing import Any, get_args

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from .. import errors

log = logging.getLogger("graphmem.server")
MEDIA_TYPE = "application/problem+json"

# Most specific first: the first class an error is an instance of decides its status.
STATUS: tuple[tuple[type[errors.GraphMemError], int], ...] = (
    (errors.AuthError, 401),
    (errors.RateLimitError, 429),
    (errors.NotFoundError, 404),
    (errors.ValidationError, 422),
    (errors.ReadOnlyError, 403),
    (errors.ConflictError, 409),
    (errors.QueryError, 400),
    (errors.UnsupportedError, 400),
    (errors.BackendUnavailableError, 503),
    (errors.LLMError, 502),
    (errors.ConfigError, 500),
)


def status_of(exc: errors.GraphMemError) -> int:
    given = getattr(exc, "status", None)
    if isinstance(given, int):
        return given
    return next((code for cls, code in STATUS if isinstance(exc, cls)), 500)


def problem(status: int, error: str, detail: str, **extra: Any) -> JSONResponse:
    body = {
        "type": f"urn:graphmem:error:{error}",
        "title": error,
        "status": status,
        "detail": _sendable(detail),
        "error": error,
        **{k: _sendable(v) for k, v in extra.items() if v is not None},
    }
    headers = {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if "retry_after" in body:
        headers["Retry-After"] = str(body["retry_after"])
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _sendable(value: Any) -> Any:
    """``value`` with any lone surrogate written as its escape (``\\ud800``). A detail may
    echo what was sent, and JSON may carry "\\ud800", which Python reads as a lone
    surrogate that UTF-8 cannot encode: the answer itself failed, as a 500."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def forbidden(message: str) -> errors.AuthError:
    """A known key asking for something its rights or scope do not cover: 403."""
    exc = errors.AuthError(message)
    exc.status = 403  # type: ignore[attr-defined]
    return exc


async def _graphmem_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.GraphMemError)
    status = status_of(exc)
    if status >= 500:
        log.error("%s %s: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
    retry = math.ceil(exc.retry_after) if isinstance(exc, errors.RateLimitError) else None
    return problem(status, type(exc).__name__, str(exc), field=getattr(exc, "field", None),
                   query_name=getattr(exc, "query_name", None), retry_after=retry)  # fmt: skip


async def _bad_request(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    found = exc.errors() or [{}]
    # A misspelt name is both a field the route lacks and one it misses ({"Query": ...}
    # lacks "query"): the unknown one is named first, with the name it most likely meant.
    first = next((e for e in found if e.get("type") == "extra_forbidden"), found[0])
    loc = [str(p) for p in first.get("loc", ())]
    if loc[:1] == ["body"] and (whole := _whole_body(request, exc, first)) is not None:
        return whole
    field = ".".join(loc[1:] if loc and loc[0] in ("body", "query", "path") else loc)
    message = (_wrong_type(first) or _unnamed(request, loc, first.get("type"))
               or _not_unicode(first) or str(first.get("msg", "invalid request")))  # fmt: skip
    return problem(422, "ValidationError", f"{field or 'request'}: {message}",
                   field=field or "request")  # fmt: skip


# pydantic's error types for a value of the wrong JSON type, in the words MCP's tool
# errors use (mcp/vet.py). pydantic said "Input should be a valid integer, unable to
# parse string as an integer": neither what was sent nor where to look.
_WANTED = {
    "int_parsing": "an integer", "int_type": "an integer", "int_from_float": "an integer",
    "float_parsing": "a number", "float_type": "a number", "bool_parsing": "true or false",
    "bool_type": "true or false", "string_type": "a string", "dict_type": "an object",
    "list_type": "a list", "model_type": "an object",
}  # fmt: skip
KEYLIKE = re.compile(r"gm_[0-9a-fA-F]{12}_")  # keys.py's form: never echoed back


def _wrong_type(error: dict[str, Any]) -> str | None:
    wanted = _WANTED.get(str(error.get("type")))
    if wanted is None:
        return None
    try:
        got = json.dumps(error.get("input"), ensure_ascii=False, allow_nan=True)
    except (TypeError, ValueError):
        got = type(error.get("input")).__name__
    got = "a value that looks like an API key" if KEYLIKE.search(got) else got
    got = got if len(got) <= 60 else got[:57] + "..."
    return f"must be {wanted}, got {got}; send it as /docs describes"


def _not_unicode(error: dict[str, Any]) -> str | None:
    # A field's name with a lone surrogate ({"ask\\ud800": 1}): pydantic said "Input should
    # be a valid string, unable to parse raw data as a unicode string", and named no field.
    if error.get("type") != "string_unicode":
        return None
    sent = _sendable(str(error.get("input", ""))[:60])  # cut first: an escape stays whole
    return f"'{sent}' holds a lone surrogate, which is not Unicode text: send UTF-8 text"


def taken(dependant: Dependant) -> set[str]:
    """The query parameter names a route reads, its dependencies' included."""
    names = {field.alias for field in dependant.query_params}
    for sub in dependant.dependencies:
        names |= taken(sub)
    return names


def not_taken(name: str, what: str, where: str, names: set[str]) -> str:
    """Why ``name`` was refused: ``where`` takes no such ``what``, here is what it takes, and
    the one it most likely meant (a case slip or a typo: ``users_id``, ``Query``)."""
    close = errors.closest(name, sorted(names))
    hint = f"; did you mean {close!r}?" if close else "; check the name's spelling"
    return f"is not {what} of {where} (it takes: {', '.join(sorted(names)) or 'none'}){hint}"


def _unnamed(request: Request, loc: list[str], kind: object) -> str | None:
    """A body field or query parameter the route does not take, or one it needs and did
    not get. pydantic said "Extra inputs are not permitted" and "Field required": neither
    what the route takes nor what to send."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None or len(loc) != 2 or kind not in ("extra_forbidden", "missing"):
        return None
    where = f"{request.method} {getattr(route, 'path_format', _path(request))}"
    if loc[0] == "body":
        names, what, how = _body_fields(dependant), "a field", "in the JSON body"
    elif loc[0] == "query":
        names, what, how = taken(dependant), "a query parameter", "as a query parameter"
    else:
        return None
    if kind == "extra_forbidden":
        return not_taken(loc[1][:60], what, where, names)
    return f"is required by {where}; send it {how} (it takes: {', '.join(sorted(names))})"


def _body_fields(dependant: Dependant) -> set[str]:
    for param in dependant.body_params:
        for model in (param.field_info.annotation, *get_args(param.field_info.annotation)):
            if isinstance(model, type) and issubclass(model, BaseModel):
                return {f.alias or n for n, f in model.model_fields.items()}
    return set()


def _whole_body(request: Request, exc: RequestValidationError, first: dict) -> JSONResponse | None:
    """The answer when the body as a whole could not be read as one JSON object. FastAPI
    said "9: JSON decode error" (the offset as the field) for malformed JSON, and "Input
    should be a valid dictionary" for a body sent as text/plain or a form."""
    if first.get("type") == "json_invalid":
        doc, at = str(exc.body), int(first["loc"][1])
        line, column = doc.count("\n", 0, at) + 1, at - doc.rfind("\n", 0, at)
        why = f"{first.get('ctx', {}).get('error', 'invalid JSON')} at line {line}, column {column}"
        return _unreadable_body(why)
    if isinstance(exc.body, bytes):  # read as JSON only when the Content-Type says JSON
        sent = request.headers.get("content-type")
        sent = f"as {sent[:100]!r}" if sent else "with no Content-Type"
        return problem(415, "ValidationError", f"the request body was sent {sent}: send "
                       "it as JSON, with Content-Type: application/json", field="body")  # fmt: skip
    if len(first.get("loc", ())) != 1:
        return None  # one field of the object: named as usual
    if first.get("type") == "missing":
        return _unreadable_body("it is empty, or null")
    if first.get("type") in ("dict_type", "model_attributes_type"):
        kind = _JSON_KINDS.get(type(exc.body), "value")
        return problem(422, "ValidationError", f"the request body is a JSON {kind}: send one "
                       "JSON object of the fields /docs lists", field="body")  # fmt: skip
    return None


_JSON_KINDS = {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}


def _unreadable_body(why: str) -> JSONResponse:
    return problem(400, "ValidationError", f"the request body is not JSON that can be read "
                   f"({why}): send one JSON object, UTF-8 encoded, with Content-Type: "
                   "application/json", field="body")  # fmt: skip


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    name = "NotFoundError" if exc.status_code == 404 else "GraphMemError"
    detail, headers = str(exc.detail), dict(exc.headers or {})
    field = None
    if exc.status_code == 405:  # RFC 9110: a 405 names what is allowed
        headers["Allow"] = ", ".join(_methods_at(request))
        detail = (f"{request.method} is not served at {_path(request)}; "
                  f"use {headers['Allow']} (the API's paths are at /docs)")  # fmt: skip
    elif exc.status_code == 404 and detail == "Not Found":  # no route: the router's words
        detail = f"nothing is served at {_path(request)} (the API's paths are at /docs)"
    elif exc.status_code == 400 and isinstance(exc.__cause__, ValueError | RecursionError):
        # FastAPI's "There was an error parsing the body" says neither what nor what to do.
        response = _unreadable_body(_unreadable(exc.__cause__))
        response.headers.update(headers)
        return response
    response = problem(exc.status_code, name, detail, field=field)
    response.headers.update(headers)
    return response


def _path(request: Request, most: int = 200) -> str:
    """The request's path for a message: as sent, cut short (the caller chose it)."""
    path = request.url.path
    return path if len(path) <= most else path[:most] + "..."


def _unreadable(cause: BaseException) -> str:
    # Malformed JSON never comes here: FastAPI raises it as a RequestValidationError.
    if isinstance(cause, RecursionError):
        return "it nests too deep"
    if isinstance(cause, UnicodeDecodeError):
        return f"byte {cause.object[cause.start : cause.start + 1]!r} at {cause.start} is not UTF-8"
    return str(cause)[:200]  # e.g. Python's cap on the digits of an integer


def _methods_at(request: Request) -> list[str]:
    # Starlette's own Allow names the methods of the first route matching the path only
    # (POST for /v1/memories, which GET and DELETE serve too), so ask every route.
    methods: set[str] = set()
    for route in request.app.router.routes:
        if route.matches(request.scope)[0] != Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    if "GET" in methods:  # app._HeadAsGet answers HEAD there
        methods.add("HEAD")
    return sorted(methods)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # The traceback goes to the server log; the caller learns only that it was not them.
    log.exception("%s %s failed", request.method, request.url.path)
    return problem(500, "GraphMemError", "internal server error; the server log has details")


# The schema of every error body, and the statuses an operation may answer with one. The
# generated spec said 422 was FastAPI's {"detail": [...]} as application/json, which a
# client generated from it failed to read, and named no other error status.
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "An error (RFC 9457); `error` names graphmem's error class "
    "(ValidationError, NotFoundError, AuthError...) and `field` the argument at fault.",
    "required": ["type", "title", "status", "detail", "error"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "error": {"type": "string"},
        "field": {"type": "string"},
        "query_name": {"type": "string"},
        "retry_after": {"type": "integer", "description": "seconds; also in Retry-After"},
    },
}
ERROR_STATUSES = {
    "400": "A statement or request the server cannot run (QueryError, unreadable JSON)",
    "401": "No API key, a malformed one, or one not known or revoked (AuthError)",
    "403": "The key may not do this, or not in that scope; or a write in read-only Cypher",
    "404": "No such memory, entity or path in the key's scope (NotFoundError)",
    "409": "The change conflicts with what is stored (ConflictError)",
    "413": "The request body is over the server's limit",
    "415": "The request body was not sent with Content-Type: application/json",
    "422": "An argument is invalid; `field` names it (ValidationError)",
    "429": "Over the key's rate limit; retry after `retry_after` seconds (RateLimitError)",
    "503": "A store is unavailable (BackendUnavailableError)",
}


def document_problems(app: FastAPI) -> None:
    """Make ``app``'s OpenAPI document say what its errors are: each keyed operation
    answers ``ERROR_STATUSES`` with ``PROBLEM_SCHEMA`` as application/problem+json."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = build()
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        schemas["Problem"] = PROBLEM_SCHEMA
        content = {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for operations in spec.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                keyed = bool(operation.get("security"))
                for code, what in ERROR_STATUSES.items():
                    if keyed or code in responses:
                        responses[code] = {"description": what, "content": content}
        if "HTTPValidationError" not in str(spec.get("paths")):
            schemas.pop("HTTPValidationError", None)
            schemas.pop("ValidationError", None)
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(errors.GraphMemError, _graphmem_error)
    app.add_exception_handler(RequestValidationError, _bad_request)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
