"""Writing a suite's results: JSON for machines, Markdown for people, PNG plots if possible.

Everything a reader needs to reproduce or distrust a number goes into ``results.json``:
the machine, the versions of graphmem's dependencies, the git commit (and whether the
tree was dirty), the exact configuration and when it ran.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from .machine import describe, speed_figures
from .runtime import REPO_ROOT

RESULTS_ROOT = Path(__file__).resolve().parent / "results"
_EXTRA_PACKAGES = ("sentence-transformers", "torch", "matplotlib")


def default_out(suite: str, *variant: str) -> Path:
    """``results/<suite>/`` for a suite's default run, ``results/<suite>/<variant>/`` else.

    A quick ``--embedder hash`` run must not overwrite the headline results of the
    default configuration sitting next to it.
    """
    parts = [part for part in variant if part]
    return RESULTS_ROOT / suite / "-".join(parts) if parts else RESULTS_ROOT / suite


@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    note: str = ""

    def markdown(self) -> str:
        lines = [f"### {self.title}", ""]
        if self.note:
            lines += [self.note, ""]
        lines.append("| " + " | ".join(self.headers) + " |")
        lines.append("|" + "|".join("---" for _ in self.headers) + "|")
        lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in self.rows]
        return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        return f"{value:.3f}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


def _git(*args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError) as error:
        return f"unavailable ({error.__class__.__name__})"
    return done.stdout.strip() if done.returncode == 0 else "unavailable"


def _versions() -> dict[str, str]:
    names: list[str] = ["graphmem"]
    try:
        requirements = metadata.requires("graphmem") or []
    except metadata.PackageNotFoundError:
        requirements = []
    for requirement in requirements:
        if "extra ==" in requirement and 'extra == "local"' not in requirement:
            continue
        name = requirement.split(";")[0].strip()
        for stop in "<>=!~[ ":
            name = name.split(stop)[0]
        names.append(name)
    versions = {}
    for name in dict.fromkeys([*names, *_EXTRA_PACKAGES]):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def machine_info() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "packages": _versions(),
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        **speed_figures(),
    }


def write_results(
    suite: str,
    results: Mapping[str, Any],
    tables: Sequence[Table],
    config: Mapping[str, Any],
    out_dir: Path | None = None,
    preamble: Sequence[str] = (),
) -> Path:
    """Write results.json and results.md under ``out_dir`` and print the tables."""
    target = Path(out_dir) if out_dir else RESULTS_ROOT / suite
    target.mkdir(parents=True, exist_ok=True)
    document = {
        "suite": suite,
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "config": dict(config),
        "results": results,
    }
    (target / "results.json").write_text(
        json.dumps(document, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8"
    )
    body = [f"# graphmem benchmark: {suite}", ""]
    body += [f"- {line}" for line in preamble]
    body += [
        f"- run {document['timestamp']} on {document['machine']['platform']}, "
        f"{document['machine']['cpu_count']} CPUs, Python {document['machine']['python']}, "
        f"commit {document['machine']['git_commit'][:12]}"
        + (" (dirty tree)" if document["machine"]["git_dirty"] else ""),
        *([f"- {speed}"] if (speed := describe(document["machine"])) else []),
        f"- config: `{json.dumps(dict(config), default=str)}`",
        "",
    ]
    body += [table.markdown() for table in tables]
    (target / "results.md").write_text("\n".join(body), encoding="utf-8")
    print("\n".join(body))
    return target


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")  # files only: no display on a benchmark machine
    import matplotlib.pyplot as plt

    return plt


def plot_lines(
    path: Path,
    series: Mapping[str, Mapping[float, float]],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    logx: bool = False,
) -> Path | None:
    """One line per series (e.g. recall@k per method, latency per size); None without
    matplotlib, so a missing plotting library never fails a benchmark run."""
    plt = _pyplot()
    if plt is None or not series:
        return None
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for name, points in series.items():
        xs = sorted(points)
        axes.plot(xs, [points[x] for x in xs], marker="o", label=name)
    if logx:
        axes.set_xscale("log")
    axes.set_title(title)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize="small")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def write_raw(
    suite: str, name: str, rows: Sequence[Mapping[str, Any]], out_dir: Path | None = None
) -> Path:
    """Per-question rows as JSON lines under ``raw/`` (git-ignored: large and re-creatable)."""
    target = (Path(out_dir) if out_dir else RESULTS_ROOT / suite) / "raw"
    target.mkdir(parents=True, exist_ok=True)
    path = target / f"{name}.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, default=str) + "\n")
    return path
