"""Standard streams the caller closed (``<&-``, ``>&-``), found before anything opens.

A process started with fd 0, 1 or 2 closed hands those numbers to the next files it
opens. ``graphmem mcp >&-`` then took the data dir's ``.lock`` as fd 1 and wrote its
JSON-RPC answers into it; other commands failed with AttributeError on ``None`` streams
(exit 3, "this is a bug"). Each closed one now reads or writes the null device, and the
commands that cannot work without one say so (``closed``).
"""

from __future__ import annotations

import os
import sys

from ..errors import ValidationError

closed: frozenset[int] = frozenset()


def guard() -> None:
    """Point each closed standard fd at the null device and give Python a stream on it."""
    global closed
    found = set()
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            found.add(fd)
    for fd in sorted(found):
        null = os.open(os.devnull, os.O_RDWR)  # the lowest free number: this very fd
        if null != fd:
            os.dup2(null, fd)
            os.close(null)
    if 0 in found or sys.stdin is None:
        sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115 - lives as long as the process
    for fd, name in ((1, "stdout"), (2, "stderr")):
        if fd in found or getattr(sys, name) is None:
            setattr(sys, name, open(fd, "w", encoding="utf-8", closefd=False))  # noqa: SIM115
    closed = frozenset(found)


def stdin_open(field: str, what: str) -> None:
    """Refuse to read a closed stdin: read, it is the null device and looks empty, so a
    command would blame the input's contents ("no header") rather than say it got none."""
    if 0 in closed or sys.stdin is None or sys.stdin.closed:
        raise ValidationError(field, f"stdin is closed: pipe {what} in, or give the file's path")
