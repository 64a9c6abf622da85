"""Printing a command's result: human text by default, ``--json`` for programs.

JSON is ``graphmem.jsonable``'s shape (the Python objects' field names): one document per
command, or one object per line for a command declared ``stream=True``, so
``graphmem list --json | jq -r .text`` works without slurping.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

from ..jsonable import to_jsonable
from ..termsafe import json_safe, safe
from .registry import Command


def emit(result: Any, cmd: Command, as_json: bool, out: TextIO | None = None) -> None:
    out = out if out is not None else sys.stdout
    if result is None:
        return
    if as_json:
        data = to_jsonable(result)
        if cmd.stream and isinstance(data, list):
            for item in data:
                out.write(_dumps(item) + "\n")
        else:
            out.write(_dumps(data) + "\n")
        return
    render = cmd.human or default_human
    for line in render(result):
        out.write(safe(line) + "\n")  # stored text may hold terminal escape sequences


def _dumps(data: Any) -> str:
    return json_safe(json.dumps(data, ensure_ascii=False))


def default_human(result: Any) -> Iterable[str]:
    data = to_jsonable(result)
    if isinstance(data, list):
        return table(
            data if all(isinstance(r, dict) for r in data) else [{"value": r} for r in data]
        )
    if isinstance(data, dict):
        return mapping(data)
    return [str(data)]


def mapping(data: Mapping[str, Any]) -> list[str]:
    """``key: value`` lines, keys aligned."""
    data = to_jsonable(data)
    width = max((len(k) for k in data), default=0)
    return [f"{k.ljust(width)}  {cell(v, 200)}" for k, v in data.items()]


def table(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    if not rows:
        return ["(no rows)"]
    cols = list(rows[0])
    text = [[cell(r.get(c)) for c in cols] for r in rows]
    widths = [max(len(c), *(len(t[i]) for t in text)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(t, widths, strict=True)).rstrip() for t in text]
    return lines


def cell(value: Any, width: int = 70) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(to_jsonable(value), ensure_ascii=False)
    text = safe(text)  # before measuring, so escaped cells keep the columns aligned
    return text if len(text) <= width else text[: width - 1] + "…"


__all__ = ["cell", "default_human", "emit", "mapping", "table"]
