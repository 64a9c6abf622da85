"""The write path never goes through ``search/``: not by import, not by a call at run time.

Ingest and maintenance write through the caching wrapper in ``graphmem/index/``, which
search reads too; a change to search must not be able to change what a write stores.
"""

from __future__ import annotations

import ast
import sys
import threading
from pathlib import Path

import graphmem
import graphmem.search
from graphmem import Memory

ROOT = Path(graphmem.__file__).parent
SEARCH = Path(graphmem.search.__file__).parent
WRITE_PATH = ("graphmem.ingest", "graphmem.maintenance", "graphmem.index")


def _modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its ``__init__``)."""
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The graphmem modules ``name`` imports anywhere in its body (lazy imports too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    out = set()
    for target in found:
        # Importing a.b.c runs a.b's __init__ too (never the root's: that is the facade).
        parts = target.split(".")
        out |= {".".join(parts[:i]) for i in range(2, len(parts) + 1)}
    return out & known.keys()


def _reachable(roots: list[str], known: dict[str, Path]) -> dict[str, str]:
    """Each module reachable from ``roots`` -> the module that first imported it."""
    seen = {root: "" for root in roots}
    todo = list(roots)
    while todo:
        name = todo.pop()
        for target in sorted(_imports(name, known[name], known)):
            if target not in seen:
                seen[target] = name
                todo.append(target)
    return seen


def test_no_write_path_module_imports_search_directly_or_through_another():
    known = _modules()
    roots = [m for m in known if m.startswith(WRITE_PATH)]
    assert {"graphmem.ingest.resolve", "graphmem.index.store"} <= set(roots)
    seen = _reachable(roots, known)
    leaks = []
    for name in seen:
        if name == "graphmem.search" or name.startswith("graphmem.search."):
            chain = [name]
            while seen[chain[-1]]:
                chain.append(seen[chain[-1]])
            leaks.append(" <- ".join(chain))
    assert not leaks, f"the write path imports search/: {leaks}"


def test_the_walk_sees_imports_through_other_modules_and_inside_functions():
    """The walk itself: search's own modules reach search; Memory's lazy imports count."""
    known = _modules()
    assert "graphmem.search.fuse" in _reachable(["graphmem.search.rerank"], known)
    from_memory = _reachable(["graphmem.memory"], known)
    assert "graphmem.search.engine" in from_memory  # memory -> search/__init__ -> engine
    assert "graphmem.ingest.offline" in from_memory  # imported inside Memory.__init__


def test_memory_writes_run_no_code_from_search(tmp_path):
    """Every write method, with search's indexes of the scope live, runs nothing in search/."""
    with Memory.open(tmp_path, embedder="hash", extractor="offline") as m:
        m.add("Alice Smith works at Acme in Paris.", user_id="u")
        assert m.search("Where does Alice work?", user_id="u")  # builds the scope's indexes
        ran: set[str] = set()

        def profile(frame, event, arg):
            if event == "call":
                ran.add(frame.f_code.co_filename)

        threading.setprofile(profile)
        sys.setprofile(profile)
        try:
            m.add("Bob Stone lives in Lyon. Bob Stone knows Alice Smith.", user_id="u")
            m.add_many([{"text": "Carol Jones likes tea."}, {"text": "Dan Ek moved to Oslo."}],
                       user_id="u", infer=True)  # fmt: skip
            m.add_triples([("Smith Alice", "knows", "Eve Moss")], user_id="u")
            facts = m.get_all(user_id="u", limit=50)
            m.update(facts[0].id, "Alice Smith works at Initech.", user_id="u")
            m.delete(facts[1].id, user_id="u")
            merges = [e for e in m.history_store.events(None) if e.event == "MERGE"]
            assert merges, "the triple's reordered name should have merged into Alice Smith"
            m.undo_merge(merges[0].id, user_id="u")
            m.verify(repair=True)
            m.delete_all(user_id="u")
        finally:
            sys.setprofile(None)
            threading.setprofile(None)  # type: ignore[arg-type]
        assert any(Path(f).is_relative_to(ROOT / "ingest") for f in ran)  # the hook saw them
        inside = sorted({f for f in ran if Path(f).is_relative_to(SEARCH)})
        assert not inside, f"writes ran code in search/: {inside}"
        assert m.search("Where does Alice work?", user_id="u") == []  # and it saw them all
