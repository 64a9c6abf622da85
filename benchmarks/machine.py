"""How fast was the machine while a suite ran? Figures that make two runs comparable.

This project's machines are 2-core VMs whose speed is not fixed: the 10k hash ingest
measured 1,597/s in one session and 3,916/s in the next, with no change to the ingest
code between them, and every search latency moved by about the same factor. Absolute figures from different days are
therefore not comparable on their own; these are recorded with every result so they
can be:

- ``cpu_model``: what ``/proc/cpuinfo`` names (VMs of one kind may land on different hosts);
- ``reference_ms``: the best of five runs of a fixed pure-Python workload (dict
  counting, string joins, a regex scan, a sort: the kind of work an offline ingest does),
  taken when the results are written. Twice the milliseconds, half the machine;
- ``steal_share``: the share of CPU time the hypervisor gave to other guests between
  the start of this process and the write, from ``/proc/stat``. Anything above a few
  per cent means the run was slowed by neighbours.

Ratios between methods measured in one run do not need any of this: they share the
machine, which is why every suite runs its baselines in the same process.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

_STAT = Path("/proc/stat")
_CPUINFO = Path("/proc/cpuinfo")
_TOKEN = re.compile(r"w\d+")


def _cpu_times() -> list[int] | None:
    """user nice system idle iowait irq softirq steal, summed over all CPUs."""
    try:
        first = _STAT.read_text(encoding="ascii").splitlines()[0].split()
    except (OSError, IndexError, UnicodeDecodeError):
        return None
    if not first or first[0] != "cpu" or len(first) < 9:
        return None
    return [int(x) for x in first[1:9]]


_AT_START = _cpu_times()


def steal_share(since: list[int] | None = _AT_START) -> float | None:
    """Stolen share of all CPU time since ``since`` (this module's import by default)."""
    now = _cpu_times()
    if since is None or now is None:
        return None
    spent = [b - a for a, b in zip(since, now, strict=True)]
    total = sum(spent)
    return round(spent[7] / total, 4) if total > 0 else None


def cpu_model() -> str:
    try:
        for line in _CPUINFO.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def _reference_work() -> int:
    words = [f"w{i % 997}" for i in range(40_000)]
    counts: dict[str, int] = {}
    for word in words:
        counts[word] = counts.get(word, 0) + 1
    text = " ".join(words)
    found = _TOKEN.findall(text)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return len(found) + len(ranked)


def reference_ms(repeats: int = 5) -> float:
    """Best-of-``repeats`` wall time of the fixed workload, in milliseconds."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        _reference_work()
        best = min(best, time.perf_counter() - started)
    return round(best * 1000, 2)


def speed_figures() -> dict[str, Any]:
    return {
        "cpu_model": cpu_model(),
        "reference_ms": reference_ms(),
        "steal_share": steal_share(),
    }


def describe(figures: dict[str, Any]) -> str:
    """One line for a results.md header; empty when the figures are missing (old runs)."""
    if "reference_ms" not in figures:
        return ""
    steal = figures.get("steal_share")
    stolen = "unknown" if steal is None else f"{steal:.1%}"
    return (
        f"machine speed: {figures.get('cpu_model', 'unknown')}, Python reference workload "
        f"{figures['reference_ms']} ms (best of 5; lower is faster), CPU steal during the "
        f"run {stolen}"
    )
