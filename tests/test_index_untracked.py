"""Per-memory bookkeeping of a scope's index that Python's cycle collector does not walk.

Each full collection walks every object the collector tracks. A scope's index held one
list per memory for its group and one for its scope fields: at 100k memories, 200k of
the ~680k objects a full collection walked (~0.5 s each, in the middle of a search; issue
16). They are tuples of strings now, which the collector stops tracking once it has
seen them, and a loaded index shares one tuple per distinct scope.
"""

from __future__ import annotations

import gc

from graphmem.index import ScopeIndex
from graphmem.index.snapshot import load_scope, scope_arrays
from graphmem.models import Scope
from graphmem.search.collapse import Groups

SCOPE = Scope.of("u")
ROW = {"user_id": "u", "agent_id": "", "run_id": ""}


def filled(n: int = 50) -> ScopeIndex:
    index = ScopeIndex(SCOPE)
    index.put("s", {**ROW, "id": "s", "text": "Caroline went hiking near Oslo", "kind": "source"},
              [1.0, 0.0])  # fmt: skip
    for i, text in enumerate(("Caroline went hiking", "hiking near Oslo")):
        index.put(f"f{i}", {**ROW, "id": f"f{i}", "text": text, "origin": "s"}, [0.9, 0.1])
    for i in range(n):
        index.put(f"m{i}", {**ROW, "id": f"m{i}", "text": f"note {i}"}, [0.0, 1.0])
    return index


def walked(index: ScopeIndex) -> int:
    """How many of the index's per-memory group and scope entries the collector tracks."""
    gc.collect()
    entries = [*index.groups.values(), *index.payloads._scopes] if hasattr(
        index.payloads, "_scopes") else list(index.groups.values())  # fmt: skip
    return sum(gc.is_tracked(e) for e in entries)


def test_groups_and_scope_fields_are_not_walked_by_the_collector():
    live = filled()
    assert walked(live) == 0
    loaded = load_scope(SCOPE, *scope_arrays(live))
    assert walked(loaded) == 0
    assert len({id(s) for s in loaded.payloads._scopes}) == 1  # one shared per scope


def test_groups_still_follow_every_put_and_drop():
    index = filled(3)
    assert index.groups["s"] == ("s", "f0", "f1")
    index.drop("f0")
    assert index.groups["s"] == ("s", "f1")
    index.put("f2", {**ROW, "id": "f2", "text": "Oslo in May", "origin": "s"}, [0.8, 0.2])
    assert index.groups["s"] == ("s", "f1", "f2")
    index.drop("m1")
    assert "m1" not in index.groups and index.groups["m2"] == ("m2",)
    members = Groups(index, lambda payload: True).members("s")
    assert members == ["f1", "f2"]  # the source stands for its facts, in stored order
    loaded = load_scope(SCOPE, *scope_arrays(index))
    assert loaded.groups == index.groups
