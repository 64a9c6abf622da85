"""Commands that look after a data directory: doctor (verify and repair), maintain,
export, import."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from ..errors import StoreDriftError, ValidationError
from . import streams
from .output import emit
from .registry import Command, Context, arg, command


def show_report(report: dict[str, Any]) -> Iterable[str]:
    checked = ", ".join(f"{v} {k}" for k, v in report["checked"].items())
    yield f"checked {checked}"
    for kind, count in report["drift"].items():
        if count:
            examples = ", ".join(report["examples"].get(kind, []))
            yield f"  {kind:<24} {count:>7}   e.g. {examples}"
    for kind, count in report["repaired"].items():
        yield f"  repaired {kind:<15} {count:>7}"
    yield "no drift: the stores agree" if report["ok"] else "drift found (see above)"


@command("doctor", "check that graph, vectors and history agree; --repair mends them",
         arg("--repair", action="store_true", help="mend the drift (nothing a store still "
             "knows is dropped) and log REPAIR events in the history"),
         needs="store", human=show_report)  # fmt: skip
def doctor(ctx: Context) -> dict[str, Any]:
    from ..config import Config
    from ..memory import Memory

    args = ctx.args
    where = Path(args.data_dir).expanduser() if args.data_dir else Config.from_env().data_dir
    # Opening would make an empty one and find it in order; os.path reads a name too long
    # for the filesystem as absent, where Path.is_dir raised OSError (exit 3).
    if not os.path.isdir(where):
        raise ValidationError("data_dir", f"{where} is not a data directory: doctor checks "
                              "one that exists; pass its path with --data-dir")  # fmt: skip
    overrides = {"data_dir": args.data_dir, "embedder": args.embedder, "graph": args.graph}
    # The check on open would refuse the very data directory this command is here to mend.
    ctx._memory = Memory.from_env(check_stores=False,
                                  **{k: v for k, v in overrides.items() if v})  # fmt: skip
    report = ctx.memory.verify(repair=args.repair).to_dict()
    if not report["ok"]:
        emit(report, Command("doctor", "", doctor, human=show_report), ctx.json)
        sys.stdout.flush()
        total = sum(report["drift"].values())
        raise StoreDriftError(
            f"{total} differences between the stores remain"
            + ("" if args.repair else ": run graphmem doctor --repair to mend them")
        )
    return report


def show_maintained(report: dict[str, Any]) -> Iterable[str]:
    for kind in ("expired", "archived", "promoted"):
        yield f"{kind:<9} {len(report[kind]):>7}"


@command("maintain", "apply expiry, the archival policy and promotion (lifecycle settings); "
         "without --user/--agent/--run, in every scope",
         arg("--now", help="act as if it were this ISO time (default: now)"),
         human=show_maintained)  # fmt: skip
def maintain_cmd(ctx: Context) -> dict[str, Any]:
    scope = {k: v for k, v in ctx.scope.items() if v}
    return ctx.memory.maintain(ctx.args.now, **scope).to_dict()


@command("settle", "hand back what a bulk load's writes left in a running server's caches "
         "(--url, with an admin key): Kuzu's page cache and Qdrant Edge's loaded shards",
         human=lambda done: (f"{name:<8} {'handed back' if did else 'nothing to hand back'}"
                             for name, did in done.items()),
         needs="server")  # fmt: skip
def settle_cmd(ctx: Context) -> dict[str, bool]:
    return ctx.memory.settle()


@command("export", "write every scope's memories, graph and history as portable JSON lines",
         arg("file", help="where to write ('-': standard output)"),
         arg("--no-vectors", action="store_true", help="leave vectors out (import re-embeds)"),
         needs="store")  # fmt: skip
def export_cmd(ctx: Context) -> dict[str, int]:
    from ..maintenance.portable import export, memory_counts

    memory = ctx.memory
    counts = memory_counts(memory)
    total = counts["memories"] + counts["entities"] + counts["relations"] + max(counts["events"], 0)
    with ctx.progress(total or None, "exporting") as bar:
        if ctx.args.file == "-":
            return export(memory, sys.stdout, vectors=not ctx.args.no_vectors, progress=bar.update)
        with _opened(ctx.args.file, "w") as out:
            return export(memory, out, vectors=not ctx.args.no_vectors, progress=bar.update)


@command("import", "read an export into an empty data directory (re-embeds if the "
         "embedder differs)", arg("file", help="an export file ('-': standard input)"),
         needs="store")  # fmt: skip
def import_cmd(ctx: Context) -> dict[str, int]:
    from ..maintenance.portable import import_

    with ctx.progress(None, "importing") as bar:
        if ctx.args.file == "-":
            streams.stdin_open("file", "the export")
            return import_(ctx.memory, sys.stdin, progress=bar.update)
        with _opened(ctx.args.file, "r") as lines:
            try:
                return import_(ctx.memory, lines, progress=bar.update)
            except UnicodeDecodeError as exc:
                raise ValidationError("file", f"{ctx.args.file} is not UTF-8 text (byte "
                                      f"{exc.start} of a read): pass the file graphmem "
                                      "export wrote") from None  # fmt: skip


@contextlib.contextmanager
def _opened(path: str, mode: str) -> Iterator[TextIO]:
    """The export file, or a ``ValidationError`` naming it (a folder, a missing file, no
    permission): these exited 3, "a bug in graphmem", with Python's own words."""
    try:
        handle = open(path, mode, encoding="utf-8")  # noqa: SIM115 (closed below)
    except OSError as exc:
        doing = "write" if mode == "w" else "read"
        raise ValidationError("file", f"cannot {doing} {path}: {exc.strerror}; pass the path "
                              "of a file") from None  # fmt: skip
    with handle:
        yield handle
