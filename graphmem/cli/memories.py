"""Commands over memories: add (one or a file of them), get, list, update, delete,
history, search, stats."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import ValidationError
from . import streams
from .output import mapping, table
from .registry import Context, UsageError, arg, command


def show_added(result: Any) -> Iterable[str]:
    if len(result.facts) > 20:  # a bulk add: the count, not every line
        yield f"added {len(result.facts)} memories"
    else:
        yield from (f"added {f.id}  {f.text}" for f in result.facts)
    yield from (f"relation  {rel}" for rel in result.relations[:20])
    if len(result.relations) > 20:
        yield f"... {len(result.relations)} relations in all"
    yield from (f"invalidated {old}" for old in result.invalidated)
    if result.unchanged:  # said again: nothing written, which an empty list hid
        yield f"already stored, unchanged: {len(result.unchanged)}"


def show_facts(facts: list[Any]) -> list[str]:
    return table([{"id": f.id, "text": f.text, "created_at": f.created_at,
                   "invalid_at": f.invalid_at} for f in facts])  # fmt: skip


def show_hits(hits: list[Any]) -> Iterable[str]:
    if not hits:
        yield "(no hits)"
    for rank, hit in enumerate(hits, 1):
        said = f"  (said by {who})" if (who := hit.said_by()) else ""
        yield f"{rank:>2}. {hit.score:.3f}  {hit.text}{said}"
        yield f"    {hit.explain()}"


def _json_object(text: str | None, option: str) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{option}: not JSON ({exc.msg} at character {exc.pos})") from None
    except RecursionError:
        raise UsageError(f"{option}: nested too deeply to read") from None
    if not isinstance(value, dict):
        raise UsageError(f"{option}: must be a JSON object")
    return value


def read_items(source: str) -> list[dict[str, Any]]:
    """The memories in a file ('-' = stdin): JSON lines or plain text lines."""
    return [item for _, item in read_lines(source)[1]]


def read_lines(source: str) -> tuple[str, list[tuple[int, dict[str, Any]]]]:
    """The file's name and its memories, each with the line it is on.

    The first non-empty line decides: a JSON object or string makes the file JSON lines
    (``{"text" | "messages", "metadata"?, "source_ids"?, "timestamp"?}`` or a string),
    where every line must parse; otherwise each non-empty line is one memory's text.
    Lines end at ``\n`` (or ``\r\n``) only: ``str.splitlines`` also broke them at
    U+2028, form feeds and the like, which JSON strings may hold, so a valid JSON lines
    file was cut mid-record and stored as text lines, its JSON verbatim.
    """
    name = "<stdin>" if source == "-" else source
    try:
        # Bytes, decoded here: in a C locale Python's own stdin decoding turned bytes that
        # are not UTF-8 into lone surrogates, refused later in other words than a file's.
        raw = _stdin_bytes() if source == "-" else Path(source).read_bytes()
        text = raw.decode("utf-8")
        # A byte-order mark (Windows editors write one) is not the first memory's first
        # character; it made a JSON lines file read as text lines.
        text = text.removeprefix("\ufeff")
    except OSError as exc:
        raise ValidationError("file", f"cannot read {name}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ValidationError("file", f"{name} is not UTF-8 text") from None
    lines = [(n, line.strip()) for n, line in enumerate(text.split("\n"), 1) if line.strip()]
    if not lines or not _is_json_item(lines[0][1]):
        return name, [(n, {"text": line}) for n, line in lines]
    items = []
    for n, line in lines:
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"{name}:{n}", f"not JSON ({exc.msg}); the file is read "
                                  "as JSON lines because its first line is") from None  # fmt: skip
        except RecursionError:
            raise ValidationError(f"{name}:{n}", "nested too deeply to read") from None
        if isinstance(value, str):
            value = {"text": value}
        if not isinstance(value, dict) or not ("text" in value or "messages" in value):
            raise ValidationError(f"{name}:{n}", "must be a JSON string or an object with "
                                  "'text' or 'messages'")  # fmt: skip
        items.append((n, value))
    return name, items


def _stdin_bytes() -> bytes:
    streams.stdin_open("file", "the memories")
    stream = getattr(sys.stdin, "buffer", None)
    return stream.read() if stream is not None else sys.stdin.read().encode("utf-8")


def _is_json_item(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict | str)
    except (json.JSONDecodeError, RecursionError):
        return False


@command(
    "add", "remember a text, or many: --file F reads JSON lines or text lines ('-' = stdin)",
    arg("text", nargs="?", help="the text to remember"),
    arg("--file", help="bulk add from a file of JSON lines or text lines; '-' reads stdin"),
    arg("--raw", action="store_true", help="store as-is, no extraction (infer=False)"),
    arg("--metadata", help="JSON object stored with the memory (single text only)"),
    arg("--batch-size", type=int, default=100, help="memories written per atomic batch"),
    human=show_added,
)  # fmt: skip
def add(ctx: Context) -> Any:
    a = ctx.args
    if (a.text is None) == (a.file is None):
        raise UsageError("give either a TEXT or --file F")
    if a.text is not None:
        meta = _json_object(a.metadata, "--metadata")
        return ctx.memory.add(a.text, infer=not a.raw, metadata=meta, **ctx.scope)
    if a.metadata is not None:
        raise UsageError("--metadata goes with a single TEXT; put it on each line of --file")
    name, numbered = read_lines(a.file)
    if not numbered:
        raise ValidationError("file", f"{a.file} holds no memories")
    items = [item for _, item in numbered]
    try:
        with ctx.progress(len(items), "adding") as bar:
            return ctx.memory.add_many(items, infer=not a.raw, batch_size=a.batch_size,
                                       progress=bar.update, **ctx.scope)  # fmt: skip
    except ValidationError as exc:  # items[3].text -> notes.jsonl:7: the line to fix
        found = _ITEM.match(exc.field)
        if found is None or int(found[1]) >= len(numbered):
            raise
        where = f"{name}:{numbered[int(found[1])][0]}{found[2]}"
        raise ValidationError(where, exc.detail) from None


_ITEM = re.compile(r"items\[(\d+)\](.*)")


@command("get", "one memory by id", arg("memory_id"), human=mapping)
def get(ctx: Context) -> Any:
    return ctx.memory.get(ctx.args.memory_id, **ctx.scope)


@command(
    "list", "the memories of a scope, newest writes last",
    arg("--limit", type=int, default=100), arg("--offset", type=int, default=0),
    arg("--all", action="store_true", help="include invalidated (superseded) memories"),
    stream=True, human=show_facts,
)  # fmt: skip
def list_memories(ctx: Context) -> Any:
    a = ctx.args
    return ctx.memory.get_all(limit=a.limit, offset=a.offset, include_invalid=a.all, **ctx.scope)


@command("update", "replace a memory's text", arg("memory_id"), arg("text"),
         human=lambda f: [f"updated {f.id}  {f.text}"])  # fmt: skip
def update(ctx: Context) -> Any:
    return ctx.memory.update(ctx.args.memory_id, ctx.args.text, **ctx.scope)


@command("delete", "delete a memory and the graph data only it supported", arg("memory_id"),
         human=lambda r: [f"deleted {r['memory_id']}"])  # fmt: skip
def delete(ctx: Context) -> Any:
    ctx.memory.delete(ctx.args.memory_id, **ctx.scope)
    return {"deleted": 1, "memory_id": ctx.args.memory_id}


@command(
    "history", "every change to one memory, oldest first", arg("memory_id"), stream=True,
    human=lambda events: table([{"when": e.created_at, "event": e.event, "old": e.old_value,
                                 "new": e.new_value, "details": e.details} for e in events]),
)  # fmt: skip
def history(ctx: Context) -> Any:
    return ctx.memory.history(ctx.args.memory_id, **ctx.scope)


@command(
    "search", "hybrid search; every hit explains why it was found",
    arg("query"), arg("--limit", type=int, default=5), arg("--recipe", default="hybrid"),
    arg("--as-of", help="ISO date: what was valid then"),
    arg("--all", action="store_true", help="include invalidated memories"),
    stream=True, human=show_hits,
)  # fmt: skip
def search(ctx: Context) -> Any:
    a = ctx.args
    return ctx.memory.search(a.query, limit=a.limit, recipe=a.recipe, as_of=a.as_of,
                             include_invalid=a.all, **ctx.scope)  # fmt: skip


@command("stats", "how many memories, entities and relations a scope holds", human=mapping)
def stats(ctx: Context) -> Any:
    return ctx.memory.stats(**ctx.scope)
