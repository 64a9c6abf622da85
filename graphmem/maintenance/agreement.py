"""The cheap agreement check ``Memory.open`` runs before handing out a data directory.

Three counts, one per store, that must be equal whenever no write is under way: fact
nodes in the graph, fact points in the vector store, and memories the history says are
live (added and not deleted since). A store folder that was deleted, emptied or restored
from another day shows up here as a count that differs, and opening then refuses with the
way to repair, instead of serving half the data. ``verify()`` is the thorough check.
"""

from __future__ import annotations

from typing import Any

from ..errors import StoreDriftError
from ..models import Scope
from ..stores.base import FACTS


def store_counts(memory: Any) -> dict[str, int | None]:
    """Memories per store, all scopes. ``history`` is None for a history store that
    cannot count live memories (a custom one)."""
    # The counts the open just read for its saved indexes, where no write came since.
    counted = getattr(getattr(memory, "snapshots", None), "counted", lambda: None)() or {}
    graph = (counted.get("graph") or {}).get("facts")
    if graph is None:
        graph = memory.ops.counts(Scope())["facts"]
    vectors = (counted.get("points") or {}).get(FACTS)
    if vectors is None:
        vectors = memory.vectors.count(FACTS, None)
    live = getattr(memory.history_store, "live_memories", None)
    return {"graph": graph, "vectors": vectors, "history": live() if live else None}


def check_on_open(memory: Any) -> None:
    """Raise ``StoreDriftError`` when the stores of an exclusively owned data directory
    disagree. Servers other processes write to are not checked: a count there can be
    caught between another writer's steps."""
    if "exclusive_writer" not in getattr(memory.graph_store, "capabilities", ()):
        return
    counts = store_counts(memory)
    values = {v for v in counts.values() if v is not None}
    if len(values) <= 1:
        return
    config = memory.config
    where = {"graph": config.data_dir / "graph", "vectors": _vector_place(config),
             "history": config.data_dir / "history.sqlite"}  # fmt: skip
    high = max(values)
    short = [k for k, v in counts.items() if v is not None and v < high]
    said = ", ".join(f"the {k} store ({where[k]}) {counts[k]}" for k in counts
                     if counts[k] is not None)  # fmt: skip
    raise StoreDriftError(
        f"the stores of {config.data_dir} disagree on how many memories there are: {said}. "
        f"The {' and '.join(short)} {'stores look' if len(short) > 1 else 'store looks'} deleted, emptied "
        "or restored from another time. Nothing was changed. Run `graphmem doctor` to see "
        "every difference and `graphmem doctor --repair` to mend it (Python: "
        "Memory.open(..., check_stores=False) then memory.verify(repair=True))."
    )


def _vector_place(config: Any) -> Any:
    choice = config.vector_store_choice
    if choice == "server":
        return config.qdrant_url
    return config.data_dir / ("qdrant-edge" if choice == "edge" else "vectors")
