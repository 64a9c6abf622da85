"""A progress bar on stderr for long work (bulk add, export/import, benchmarks).

It draws only when told it may (the CLI allows it when stderr is a terminal and
``--quiet`` is off): a script that captures stderr, or a CI log, gets no carriage-return
noise. Redraws are throttled so a fast loop does not spend its time writing to the tty.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

_WIDTH = 24
_EVERY_S = 0.1


class Progress:
    """``with Progress(total, "adding") as bar: ... bar.update(n)``."""

    def __init__(
        self,
        total: int | None,
        desc: str,
        *,
        enabled: bool = True,
        stream: TextIO | None = None,
    ) -> None:
        self.total, self.desc, self.enabled = total, desc, enabled
        self.stream = stream if stream is not None else sys.stderr
        self.done = 0
        self._start = time.monotonic()
        self._drawn_at = 0.0

    def __enter__(self) -> Progress:
        self._draw()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._drawn_at >= _EVERY_S or (self.total and self.done >= self.total):
            self._draw(now)

    def close(self) -> None:
        if self.enabled:
            self._draw()
            self.stream.write("\n")
            self.stream.flush()
            self.enabled = False  # closing twice draws nothing more

    def line(self, now: float | None = None) -> str:
        """The bar as text: ``adding [#########-------] 60/100  60%  1,234/s``."""
        elapsed = max((now or time.monotonic()) - self._start, 1e-9)
        rate = f"{self.done / elapsed:,.0f}/s"
        if not self.total:
            return f"{self.desc} {self.done:,}  {rate}"
        share = min(self.done / self.total, 1.0)
        filled = int(share * _WIDTH)
        bar = "#" * filled + "-" * (_WIDTH - filled)
        return f"{self.desc} [{bar}] {self.done:,}/{self.total:,} {share:4.0%}  {rate}"

    def _draw(self, now: float | None = None) -> None:
        if not self.enabled:
            return
        self._drawn_at = now or time.monotonic()
        self.stream.write("\r" + self.line(self._drawn_at) + "\x1b[K")
        self.stream.flush()


__all__ = ["Progress"]
