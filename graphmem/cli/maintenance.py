"""Commands that look after a data directory: doctor (verify and repair)."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from ..errors import StoreDriftError
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
    from ..memory import Memory

    args = ctx.args
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
