"""What the MCP SDK would drop or answer blankly, answered with the JSON-RPC error the
spec asks for, the same on stdio and over HTTP (found by a fuzz pass with raw clients):

- a line or body that is not one JSON-RPC 2.0 message (a batch array, another
  ``jsonrpc``, a lone UTF-16 surrogate): the SDK's stdio transport dropped it, and its
  HTTP transport answered a pydantic dump or a wrong "unexpected end of hex escape";
- a request method sent with an id that is no string or integer (``"id": 1.5``,
  ``true``, ``null``): the SDK read it as a notification and never answered, so the
  client waited forever. A message with no ``id`` at all *is* a notification, which
  JSON-RPC forbids answering (``bare_notification``): one outside ``notifications/``
  names nothing graphmem serves, and is dropped unanswered;
- ``tools/call`` whose ``name`` is not a tool's name or whose ``arguments`` is not an
  object: the SDK said "Invalid request parameters" with nothing naming the field;
- likewise any other request whose params do not fit the method's schema
  (``initialize`` with no ``clientInfo``, a ``cursor`` that is a number): the error now
  names the field and what it should be;
- a tool called with an argument it does not take: the SDK dropped it without a word, so
  ``recall(query=..., top_k=3)`` answered five hits as if asked for them
  (``strict_arguments``, a tool error the model reads, as for any bad argument);
- an argument of a JSON type its schema does not allow (``"limit": true``, ``"2"``): the
  SDK's lax validation ran it as 1 or 2 (``misfit_argument``, the same kind of error);
- one past a bound of its schema, or a required one missing: the SDK answered pydantic's
  text, which names pydantic's own class for the arguments and links pydantic's web
  pages. It is now said in the same words as the errors above.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from typing import Any

import mcp_types as types
import pydantic
from jsonschema import Draft202012Validator
from mcp_types.methods import validate_client_request
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from ..errors import closest
from ..wire import repeated_key

ERAS = ("2025-11-25", "2026-07-28")  # the schema eras mcp_types validates requests by


def bare_notification(raw: bytes | str) -> bool:
    """True for one JSON-RPC notification (an object with no ``id`` member) whose method
    is outside ``notifications/``: it goes unanswered and is never served. The SDK's
    parser drops an unusable id, so only the raw message tells it from a request whose
    id is ``1.5`` or ``null``, which ``refusal`` answers."""
    try:
        message = json.loads(raw)
    except (ValueError, TypeError, RecursionError):
        return False
    return (isinstance(message, dict) and "id" not in message
            and message.get("jsonrpc") == "2.0" and isinstance(message.get("method"), str)
            and not message["method"].startswith("notifications/"))  # fmt: skip


def twice_refusal(raw: bytes | str) -> types.JSONRPCError | None:
    """The error for a request (or batch) one of whose JSON objects gives a member twice,
    else None. The parser kept the last without a word, so ``{"query": "a", "query":
    "b"}`` searched "b" while a log or a proxy that read the first saw "a". The REST
    routes refuse the same (``server/strict.py``). A notification is left as it was: it
    gets no answer to carry the error."""
    name = repeated_key(raw)
    if name is None:
        return None  # none, or not JSON: the usual checks name that
    message = json.loads(raw)
    if isinstance(message, dict) and "id" not in message:
        return None
    shown = repr(name if len(name) <= 60 else name[:57] + "...")
    return error(usable_id(message), types.INVALID_REQUEST, f"Invalid Request: {shown} is "
                 "given more than once in one JSON object; send each member once")  # fmt: skip


def refusal(message: Any, tools: Collection[str] = ()) -> types.JSONRPCError | None:
    """The error answering a parsed ``message``, or None to serve it (``tools``: the
    names served; a ``tools/call`` of another is refused when they are given)."""
    if isinstance(message, types.JSONRPCNotification):
        if message.method.startswith("notifications/"):
            return None
        # Its id was there but unusable (a bare notification never gets here).
        return error(None, types.INVALID_REQUEST, f"Invalid Request: {message.method!r} is a "
                     "request but its id is no string or integer; send it with an id that "
                     "is a string or an integer")  # fmt: skip
    if not isinstance(message, types.JSONRPCRequest):
        return None
    if message.method != "tools/call":
        return _misfit(message) or _no_prompt(message) or _no_page(message)
    params = message.params if isinstance(message.params, dict) else {}
    name, arguments = params.get("name"), params.get("arguments")
    if not isinstance(name, str) or not name.strip():
        return error(message.id, types.INVALID_PARAMS, "Invalid params: params.name must be "
                     f"a tool's name, got {_shown(name)}; send one that tools/list gives")  # fmt: skip
    if arguments is not None and not isinstance(arguments, dict):
        return error(message.id, types.INVALID_PARAMS, "Invalid params: params.arguments must "
                     f"be an object, got {_shown(arguments)}; send the tool's arguments by name")  # fmt: skip
    if tools and name not in tools:
        return error(message.id, types.INVALID_PARAMS, no_tool(name, tools))
    return None


def no_tool(name: str, tools: Collection[str]) -> str:
    """The error for a call of a tool not served: a protocol error, as the spec lists
    unknown tools (the SDK answered a tool result with isError, which reads as the tool
    having run and failed)."""
    return (f"Invalid params: params.name: no tool is named {name[:60]!r}; send one that "
            f"tools/list gives: {', '.join(sorted(tools))}")  # fmt: skip


def _misfit(message: types.JSONRPCRequest) -> types.JSONRPCError | None:
    """The error naming the first field of ``message``'s params that fits the schema of
    neither protocol era (the handshake versions share 2025-11-25's shapes; 2026-07-28
    adds the per-request envelope), or None where one era takes them or the method is
    none of MCP's (the SDK answers "Method not found")."""
    refused = None
    for era in ERAS:
        try:
            validate_client_request(message.method, era, message.params)
        except KeyError:
            continue  # not a method of this era
        except pydantic.ValidationError as exc:
            refused = refused or exc.errors(include_url=False)[0]
            continue
        return None
    if refused is None:
        return None
    where = ".".join(str(p) for p in refused["loc"])
    return error(message.id, types.INVALID_PARAMS, f"Invalid params: {where}: {refused['msg']}; "
                 f"send {message.method}'s params as the MCP schema gives them")  # fmt: skip


def _no_prompt(message: types.JSONRPCRequest) -> types.JSONRPCError | None:
    """The spec's -32602 for ``prompts/get``: graphmem serves no prompts (the SDK still
    offers ``prompts/list``, empty), and the SDK answered every name with error code 0
    and a traceback in the log."""
    if message.method != "prompts/get":
        return None
    name = str((message.params or {}).get("name"))[:60]
    return error(message.id, types.INVALID_PARAMS, f"Invalid params: params.name: no prompt "
                 f"is named {name!r}, as graphmem serves none (prompts/list is empty); send "
                 "tools/list for the tools it serves")  # fmt: skip


LISTS = frozenset({"tools/list", "resources/list", "resources/templates/list", "prompts/list"})


def _no_page(message: types.JSONRPCRequest) -> types.JSONRPCError | None:
    """The spec's -32602 for a list request with a cursor graphmem never gave: every list
    is one page (no ``nextCursor``), and the SDK answered any cursor with the first page,
    which a client paging through would read as the next one."""
    cursor = (message.params or {}).get("cursor") if message.method in LISTS else None
    if cursor is None:
        return None
    return error(message.id, types.INVALID_PARAMS, f"Invalid params: params.cursor: "
                 f"{str(cursor)[:60]!r} is no cursor graphmem gave, as it answers "
                 f"{message.method} in one page; send it without a cursor")  # fmt: skip


def _shown(value: Any) -> str:
    if isinstance(value, str) and not value.strip():
        return "an empty string" if not value else "a string of only whitespace"
    return "nothing" if value is None else f"a {type(value).__name__}"


def unreadable_line_error(exc: Exception, raw: bytes | str | None = None) -> types.JSONRPCError:
    """The JSON-RPC error answering a line (``raw``, where the caller has it) that is not a
    JSON-RPC message. It carries the message's id wherever one can be read: JSON-RPC
    allows a null id only when the id could not be detected, and a client matching
    answers by id waited forever for ``{"id": 7, "params": []}``'s."""
    errors = exc.errors(include_url=False) if isinstance(exc, pydantic.ValidationError) else []
    first = errors[0] if errors else {}
    not_utf8 = _not_utf8(raw if raw is not None else first.get("input"))
    if not_utf8 is not None:
        return not_utf8
    if first.get("type") != "json_invalid":
        where = ".".join(str(p) for p in first.get("loc", ()))
        detail = f"{where}: {first['msg']}" if first else str(exc)
        return error(_read_id(raw, errors), types.INVALID_REQUEST, "Invalid Request: not a "
                     f"JSON-RPC 2.0 message ({detail}); send one JSON object, jsonrpc '2.0', "
                     "per line or request")  # fmt: skip
    text = first["input"]
    bom = text[:3] == b"\xef\xbb\xbf" if isinstance(text, bytes) else text[:1] == "\ufeff"
    try:  # what Python reads and the SDK's parser refuses (_misread says why)
        parsed = json.loads(text[1:] if bom and isinstance(text, str) else text)
    except (ValueError, TypeError, RecursionError):
        return error(None, types.PARSE_ERROR, f"Parse error: {first['msg']}; send one JSON "
                     "object per line or request")  # fmt: skip
    return error(
        usable_id(parsed), types.PARSE_ERROR, f"Parse error: {_misread(parsed, bom, first['msg'])}"
    )


UNDECODED = re.compile("[\udc80-\udcff]")  # a byte no UTF-8, read with surrogateescape


def _not_utf8(data: Any) -> types.JSONRPCError | None:
    """The error for a message that is not UTF-8, under its id where one can be read, or
    None. Over HTTP ``data`` is the body; over stdio a line read with surrogateescape,
    where each such byte is one of U+DC80-U+DCFF. stdio used to put U+FFFD in their
    place and store the altered text, where HTTP said "invalid unicode code point".
    A message opens with an ASCII character, so a NUL in its first two bytes is UTF-16
    or UTF-32 text, which Python's parser read and the SDK's refused as "key must be a
    string", under the id Python found. (A stray NUL further on is named by the parser.)"""
    if isinstance(data, str | bytes) and ("\x00" if isinstance(data, str) else b"\x00") in data[:2]:
        return error(None, types.PARSE_ERROR, "Parse error: the message holds NUL bytes, as "
                     "UTF-16 and UTF-32 text do, so nothing of it was read; send it UTF-8 "
                     "encoded")  # fmt: skip
    if isinstance(data, str):
        if not UNDECODED.search(data):
            return None
        try:
            data = data.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            return None
    if not isinstance(data, bytes):
        return None
    try:
        data.decode("utf-8")
        return None
    except UnicodeDecodeError as exc:
        at, byte = exc.start, data[exc.start]
    msg_id = _read_id(data.decode("utf-8", "replace"), [])
    return error(msg_id, types.PARSE_ERROR, f"Parse error: byte {byte:#04x} at offset {at} "
                 "is not UTF-8, so nothing of the message was read; send it UTF-8 encoded")  # fmt: skip


def _read_id(raw: bytes | str | None, errors: list[Any]) -> str | int | None:
    """The id of a message that parsed as JSON but is no JSON-RPC message: from ``raw``,
    else from the object the validation errors quote (a missing or mistyped field)."""
    found: list[Any] = []
    if raw is not None:
        try:
            found.append(json.loads(raw))
        except (ValueError, TypeError, RecursionError):
            pass
    found += [e.get("input") for e in errors]
    for item in found:
        msg_id = usable_id(item)
        if msg_id is not None:
            return msg_id
    return None


def usable_id(message: object) -> str | int | None:
    """The id of a message (a dict) that an answer may carry: a string or an integer, not
    a bool; None for anything else, as JSON-RPC answers an id it cannot read. A string
    with a lone surrogate is unreadable too: no UTF-8 answer can echo it."""
    found = message.get("id") if isinstance(message, dict) else None
    if isinstance(found, str) and _SURROGATE.search(found):
        return None
    return found if isinstance(found, str | int) and not isinstance(found, bool) else None


MAX_DEPTH = 200  # arrays and objects, one inside the other, that the SDK's parser reads
_SURROGATE = re.compile("[\ud800-\udfff]")  # json.loads joins pairs: one left is lone


def _misread(parsed: Any, bom: bool, said: str) -> str:
    """Why the SDK's parser refused a message Python's ``json`` read as ``parsed``, and
    what to send instead; ``said`` is the parser's own word, for a cause not known here."""
    if bom:  # json.loads(bytes) skips a UTF-8 BOM, as the SDK's parser does not
        return "the message starts with a byte-order mark (U+FEFF); send UTF-8 without one"
    depth, todo, lone = 0, [(parsed, 1)], False
    while todo:
        item, level = todo.pop()
        if isinstance(item, str):
            lone = lone or _SURROGATE.search(item) is not None
        elif isinstance(item, dict | list):
            depth = max(depth, level)
            inner = [*item, *item.values()] if isinstance(item, dict) else item
            todo += [(v, level + 1) for v in inner]
    if lone:
        return ("the message holds a lone UTF-16 surrogate (a \\ud800-\\udfff escape without "
                "its pair), which is not valid Unicode text; send well-formed UTF-8")  # fmt: skip
    if depth > MAX_DEPTH:
        return (f"the message nests arrays and objects {depth} levels deep, past the "
                f"{MAX_DEPTH} the MCP SDK's parser reads; send it less deeply nested")  # fmt: skip
    return f"{said}; send one JSON object, in UTF-8, per line or request"


def error(msg_id: str | int | None, code: int, message: str) -> types.JSONRPCError:
    return types.JSONRPCError(jsonrpc="2.0", id=msg_id, error=types.ErrorData(code=code,
                             message=message))  # fmt: skip


# A value past one of its schema's bounds, in words. Left to the SDK, pydantic answered
# "1 validation error for rememberArguments ... [type=string_too_short, ...] For further
# information visit https://errors.pydantic.dev/...": its own class name and a web page.
_BOUNDS = {
    "minimum": "at least {}", "exclusiveMinimum": "more than {}",
    "maximum": "at most {}", "exclusiveMaximum": "less than {}",
    "minLength": "at least {} characters long", "maxLength": "at most {} characters long",
    "minItems": "a list of at least {} items", "maxItems": "a list of at most {} items",
    "pattern": "text matching {}",
}  # fmt: skip


def misfit_argument(name: str, schema: Mapping[str, Any], given: Mapping[str, Any]) -> str | None:
    """The tool error for an argument whose JSON type the tool's advertised schema does not
    allow, or None. The SDK validates with pydantic in lax mode, which took ``"limit":
    true`` as 1, ``"2"`` as 2 and ``"infer": "no"`` as False, so a call that a strict
    client's schema check refuses ran as something the model never asked for."""
    validator = Draft202012Validator(schema)
    # A wrong type first: 1e400 is "not an integer" before it is "over 50".
    errors = validator.iter_errors(dict(given))
    for found in sorted(errors, key=lambda e: (list(e.path), e.validator != "type")):
        if found.validator in ("anyOf", "oneOf") and found.context:
            # The branch the value fits in type says what is wrong: "importance: -1" is a
            # number under its minimum, not "must be a number or null".
            # A branch counts only when the value has its type: 1e400 (read as Infinity)
            # is no integer, so "must be at most 50" would send the caller the wrong way.
            mistyped = {e.relative_schema_path[0] for e in found.context if e.validator == "type"}
            fitting = [e for e in found.context if e.relative_schema_path[0] not in mistyped]
            found = max(fitting, key=lambda e: len(e.absolute_path)) if fitting else found
        if found.validator == "additionalProperties":
            continue  # named by ``strict_arguments`` before this runs
        where = ".".join(str(p) for p in found.absolute_path) or "arguments"
        if found.validator == "required":
            missing = next(k for k in found.validator_value if k not in found.instance)
            where = f"{where}.{missing}" if found.absolute_path else missing
            return (f"ValidationError: {where}: is required and was not given; "
                    f"send {where} as tools/list describes it for {name}")  # fmt: skip
        if found.validator in _BOUNDS:
            bound = found.validator_value
            wanted = ("non-empty" if found.validator in ("minLength", "minItems") and bound == 1
                      else _BOUNDS[found.validator].format(json.dumps(bound)))  # fmt: skip
        else:
            wanted = _wanted(found.schema)
        try:
            got = json.dumps(found.instance)
        except (TypeError, ValueError):
            got = _shown(found.instance)
        got = got if len(got) <= 60 else got[:57] + "..."
        return (f"ValidationError: {where}: must be {wanted}, got {got}; "
                f"send {where} as tools/list describes it for {name}")  # fmt: skip
    return None


def _wanted(schema: Any) -> str:
    """A schema's JSON types in words: "an integer", "a string or null"."""
    if not isinstance(schema, Mapping):
        return "what the schema says"
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(v) for v in schema["enum"])
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        return " or ".join(_wanted(o) for o in options)
    kind = schema.get("type")
    if kind is None:
        return "an object" if "$ref" in schema else "what the schema says"
    kinds = kind if isinstance(kind, list) else [kind]
    words = {"integer": "an integer", "number": "a number", "string": "a string",
             "boolean": "true or false", "array": "an array", "object": "an object",
             "null": "null"}  # fmt: skip
    return " or ".join(words.get(k, str(k)) for k in kinds)


def tool_error(text: str, version: str) -> dict[str, Any]:
    """A tool's error result as the wire carries it under ``version``. A middleware that
    answers without the SDK's handler gets no per-version shaping: a dumped
    ``CallToolResult`` carried 2026-07-28's ``resultType`` to clients of every era."""
    out: dict[str, Any] = {"content": [{"type": "text", "text": text}], "isError": True}
    if version in MODERN_PROTOCOL_VERSIONS:
        out["resultType"] = "complete"  # required from that era on
    return out


def strict_arguments(
    taken: Mapping[str, Sequence[str]],
    schema_of: Callable[[str], Mapping[str, Any] | None] = lambda name: None,
) -> Callable[[Any, Callable[[Any], Awaitable[Any]]], Awaitable[Any]]:
    """Server middleware (``MCPServer.middleware``): a ``tools/call`` of one of ``taken``'s
    tools (name -> its argument names) that gives any other argument is answered as a
    tool error naming it and the arguments the tool takes; anything else goes on (a call
    naming no tool of them was refused before the SDK: ``refusal``).
    ``tools/list`` says so: each of those tools' input schema gets ``additionalProperties:
    false``."""

    async def middleware(ctx: Any, call_next: Callable[[Any], Awaitable[Any]]) -> Any:
        if ctx.method == "tools/list":
            listed = await call_next(ctx)
            for tool in listed.get("tools", []) if isinstance(listed, dict) else []:
                schema = tool.get("inputSchema")
                if tool.get("name") in taken and isinstance(schema, dict):
                    schema["additionalProperties"] = False
            return listed
        params = ctx.params if ctx.method == "tools/call" else None
        name = params.get("name") if isinstance(params, Mapping) else None
        given = params.get("arguments") if isinstance(params, Mapping) else None
        if given is None and isinstance(name, str):
            # MCP lets a call leave its arguments out (or send null): read as none given,
            # so a required one is named as missing, not in pydantic's words.
            given = {}
        if isinstance(name, str) and name in taken and isinstance(given, Mapping):
            unknown = sorted(k for k in given if k not in taken[name])
            text = None
            if unknown:
                said = ", ".join(repr(k[:60]) for k in unknown[:5])
                meant = closest(unknown[0], taken[name])
                text = (f"ValidationError: {name} takes no argument {said}; its arguments "
                        f"are {', '.join(taken[name])}"
                        + (f"; did you mean {meant!r}?" if meant else ""))  # fmt: skip
            elif (schema := schema_of(name)) is not None:
                text = misfit_argument(name, schema, given)
            if text is not None:
                # In the words the SDK gives a tool's own error, so a client reads every
                # tool error one way ("Error executing tool recall: ValidationError: ...").
                return tool_error(f"Error executing tool {name}: {text}",
                                  getattr(ctx, "protocol_version", ""))  # fmt: skip
        return await call_next(ctx)

    return middleware
