"""Hand back what a bulk load's writes filled and reads do not need (``Memory.settle``).

Why: a process that ingested 1M memories and then served searches kept two caches only
its writes used: Kuzu's page cache, full of the pages the ingest's entity joins read
(462 MB), and Qdrant Edge's write state in its loaded shards (~0.66 GB, where a shard
loaded fresh holds ~0.17 GB). Closing and opening them again gives that back: the
speed suite's peak RSS at 1M went from 4.07 to 3.28 GB, the searches' phase from 4.0
to 2.8 GB (benchmarks/results/speed/1m/README.md, section 27), for ~7 s once.

Each store that can says how (``release_caches``: ``stores/kuzu.py``,
``stores/qdrant_edge.py``); one that cannot (a server) is left as it is. The caller
holds the Memory's write lock: no read or write runs meanwhile.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ..collector import give_back_heap
from ..errors import GraphMemError

log = logging.getLogger(__name__)


def release_caches(stores: Mapping[str, Any]) -> dict[str, bool]:
    """Ask each store to hand back its caches; whether each did, by name."""
    done = {name: _release(store) for name, store in stores.items()}
    give_back_heap()  # what the closed parts freed
    return done


def release_or_warn(stores: Mapping[str, Any]) -> None:
    """``release_caches`` when a search finds it due, store by store: a failure is
    logged, the other stores still hand theirs back, and the search goes on (a store
    left closed says so on its next call)."""
    for name, store in stores.items():
        try:
            _release(store)
        except GraphMemError as exc:
            log.warning("graphmem: the %s store's caches were not handed back: %s", name, exc)
    give_back_heap()  # once: it walks the whole heap (~10-40 ms)


def _release(store: Any) -> bool:
    """One store's ``release_caches``; False for a store that has none (a server)."""
    release = getattr(store, "release_caches", None)
    return bool(release()) if callable(release) else False
