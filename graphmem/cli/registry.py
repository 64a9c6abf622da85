"""How a command is declared: one decorated function that returns data.

A command never prints its results: it returns graphmem objects (or dicts/lists of them)
and the runner prints them as human text or, with ``--json``, as JSON with the objects'
field names. Adding a command is one function in a module under ``graphmem/cli/``::

    @command("stats", "counts of memories, entities and relations in a scope",
             human=show_mapping)
    def stats(ctx: Context) -> dict[str, int]:
        return ctx.memory.stats(**ctx.scope)

``name`` may hold a space (``"cypher run"``) for a sub-command of a ``group``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .progress import Progress

Human = Callable[[Any], Iterable[str]]


class UsageError(Exception):
    """The command line itself is wrong (exit code 2, like argparse's own errors)."""


@dataclass(frozen=True)
class Arg:
    flags: tuple[str, ...]
    options: dict[str, Any]


def arg(*flags: str, **options: Any) -> Arg:
    """One ``add_argument`` call, kept for when the parser is built."""
    return Arg(flags, options)


@dataclass
class Command:
    name: str
    help: str
    run: Callable[[Context], Any]
    args: tuple[Arg, ...] = ()
    # "scope": opens the memory and takes --user/--agent/--run, or --url; "store": the
    # memory without a scope; "server": the same, or a server by --url; "none": no store
    # options at all.
    needs: str = "scope"
    # A list result printed as JSON lines (one object a line) instead of one array.
    stream: bool = False
    human: Human | None = None
    # Lets a command take the rest of the line untouched (``bench``).
    add_help: bool = True


COMMANDS: dict[str, Command] = {}
GROUPS: dict[str, str] = {}


def command(name: str, help: str, *args: Arg, **options: Any):  # noqa: A002 - argparse's word
    """Register the decorated function as ``graphmem NAME``."""

    def register(run: Callable[[Context], Any]) -> Callable[[Context], Any]:
        if name in COMMANDS:
            raise ValueError(f"graphmem command {name!r} registered twice")
        COMMANDS[name] = Command(name, help, run, args, **options)
        return run

    return register


def group(name: str, help: str) -> None:  # noqa: A002
    """Declare ``graphmem NAME ...`` as a family of sub-commands (``cypher``, ``keys``)."""
    GROUPS[name] = help


SCOPE_ENV = {"user": "GRAPHMEM_USER_ID", "agent": "GRAPHMEM_AGENT_ID", "run": "GRAPHMEM_RUN_ID"}


@dataclass
class Context:
    """What a running command gets: its arguments, the memory (opened on first use),
    the scope, and a progress bar that knows whether it may draw."""

    args: argparse.Namespace
    _memory: Any = field(default=None, init=False, repr=False)

    @property
    def memory(self) -> Any:
        if self._memory is None:
            self._memory = open_memory(self.args)
        return self._memory

    @property
    def scope(self) -> dict[str, str | None]:
        """--user/--agent/--run, each defaulting to GRAPHMEM_USER_ID/_AGENT_ID/_RUN_ID."""
        return {
            f"{flag}_id": getattr(self.args, flag, None) or os.environ.get(env) or None
            for flag, env in SCOPE_ENV.items()
        }

    @property
    def json(self) -> bool:
        return bool(getattr(self.args, "json", False))

    def progress(self, total: int | None, desc: str) -> Progress:
        """A bar on stderr, drawn only when stderr is a terminal and neither --quiet nor
        GRAPHMEM_QUIET=1 is given."""
        quiet = getattr(self.args, "quiet", False) or os.environ.get("GRAPHMEM_QUIET") == "1"
        enabled = not quiet and sys.stderr.isatty()
        return Progress(total, desc, enabled=enabled)

    def close(self) -> None:
        if self._memory is not None:
            self._memory.close()
            self._memory = None


def open_memory(args: argparse.Namespace) -> Any:
    """The memory a command works on: the embedded stores, configured from the environment
    and the --data-dir/--embedder/--graph options, or a server given by --url."""
    from ..memory import Memory

    if hasattr(args, "url") and (args.url or os.environ.get("GRAPHMEM_URL")):
        from ..client import Client  # a server owns the stores: the same calls over HTTP

        return Client(args.url, args.api_key)  # None falls back to GRAPHMEM_URL/_API_KEY

    overrides = {
        "data_dir": getattr(args, "data_dir", None),
        "embedder": getattr(args, "embedder", None),
        "graph": getattr(args, "graph", None),
    }
    return Memory.from_env(**{k: v for k, v in overrides.items() if v})


__all__ = [
    "COMMANDS",
    "GROUPS",
    "Arg",
    "Command",
    "Context",
    "UsageError",
    "arg",
    "command",
    "group",
]
