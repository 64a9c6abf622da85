"""Saved in-process indexes (issue 16): a reopened data dir answers as before without
rebuilding them, and a snapshot that no longer matches the stores is never served."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import numpy as np
import pytest

from graphmem import Memory
from graphmem.errors import StorageError
from graphmem.models import Scope
from graphmem.search.recipes import RECIPES

ROOT = Path(__file__).resolve().parents[1]
ALICE = [
    "Alice works at Acme Corp in Berlin.",
    "Alice's brother is Bob. Bob lives in Paris and paints landscapes.",
    "Alice adopted a cat named Miso last spring.",
    "Acme Corp is based in Berlin and builds trains.",
    "Bob moved from Lyon to Paris in 2019.",
    "Alice is learning Japanese for a trip to Kyoto.",
]
BOB = ["Bob's sister Alice is a secret agent in Rome.", "Carol owns a red bicycle."]
QUERIES = ["Where does Alice work?", "Who is Alice's brother and where does he live?",
           "cat named Miso", "trains built in Berlin", "Kyoto trip"]  # fmt: skip


def _open(path: Path, **settings) -> Memory:
    return Memory.open(path, embedder="hash", extractor="offline", track_access=False, **settings)


def _fill(path: Path) -> None:
    with _open(path) as m:
        m.add_many([{"text": t, "source_ids": [f"D1:{i}"]} for i, t in enumerate(ALICE)],
                   user_id="alice", infer=True)  # fmt: skip
        m.add_many([{"text": t, "source_ids": [f"D2:{i}"]} for i, t in enumerate(BOB)],
                   user_id="bob", infer=True)  # fmt: skip
        _answers(m)  # builds both scopes' indexes, so close saves them


def _answers(m: Memory) -> dict:
    out = {}
    for user in ("alice", "bob"):
        for recipe in RECIPES:
            for query in QUERIES:
                hits = m.search(query, user_id=user, recipe=recipe, limit=5)
                out[user, recipe, query] = [(h.memory_id, round(h.score, 9)) for h in hits]
    return out


def _scopes_ok(m: Memory, answers: dict) -> None:
    for (user, _recipe, _query), hits in answers.items():
        for memory_id, _score in hits:
            assert m.get(memory_id, user_id=user).scope.user_id == user


def test_reopen_answers_every_recipe_from_the_snapshot(tmp_path):
    _fill(tmp_path)
    with _open(tmp_path) as m:
        before = _answers(m)  # from indexes loaded from the snapshot close wrote
        assert m.snapshots.loaded >= 3  # facts of both users and the graph copy
        assert m.snapshots.rejected == []
    with _open(tmp_path, persist_indexes=False) as m:
        rebuilt = _answers(m)  # from the stores, as before snapshots existed
        assert m.snapshots.loaded == 0
        _scopes_ok(m, rebuilt)
    assert before == rebuilt
    assert any(before.values())


def test_a_scopes_first_search_loads_every_index_its_later_searches_read(tmp_path):
    """Names the query does not match exactly are looked up among the scope's entities by
    embedding: that index is loaded with the facts' at the scope's first search, so a
    later search (here one naming a stranger) loads nothing more."""
    _fill(tmp_path)
    with _open(tmp_path) as m:
        m.search("trains built in a city", user_id="alice", recipe="hybrid", limit=3)
        loaded = m.snapshots.loaded
        assert loaded >= 2  # the facts and the entities of alice, from the snapshot
        hits = m.search("Where does Zora Quillfeather live?", user_id="alice",
                        recipe="hybrid", limit=3)  # fmt: skip
        assert hits and m.snapshots.loaded == loaded
        assert m.snapshots.rejected == []


def test_a_write_after_reopen_is_applied_to_the_loaded_indexes(tmp_path):
    _fill(tmp_path)
    with _open(tmp_path) as m:
        m.add("Alice plays the theremin in a jazz band.", user_id="alice")
        hits = m.search("theremin jazz band", user_id="alice", recipe="keyword", limit=3)
        assert "theremin" in hits[0].text
        assert m.snapshots.loaded >= 1  # written to the indexes loaded, not rebuilt ones
        first = _answers(m)
    with _open(tmp_path) as m:  # the close after the write saved again
        assert _answers(m) == first
        assert m.snapshots.rejected == []


def test_a_data_dir_changed_behind_the_snapshot_is_rebuilt(tmp_path):
    """Another process, or an older graphmem that does not know about snapshots, adds a
    memory: the stores' stamp no longer matches, and nothing saved is used."""
    _fill(tmp_path)
    manifest = tmp_path / "index-snapshot" / "manifest.json"
    saved = manifest.read_bytes()
    _child(tmp_path, "m.add('Alice keeps a zebra named Ziggy.', user_id='alice')")
    assert not manifest.exists()  # the other process stopped trusting it before writing
    manifest.write_bytes(saved)  # as if it had not known to
    with _open(tmp_path) as m:
        hits = m.search("zebra Ziggy", user_id="alice", recipe="hybrid", limit=3)
        assert "zebra" in hits[0].text
        assert m.snapshots.loaded == 0
        assert m.snapshots.rejected == [("manifest", "the stores changed since it was written")]


def test_a_process_killed_after_writing_leaves_no_trusted_snapshot(tmp_path):
    _fill(tmp_path)
    # It loads the snapshot, writes through it, and is killed before close saves again.
    _child(tmp_path, "assert m.search('zebra', user_id='alice') and m.snapshots.loaded\n"
                     "m.add('Alice keeps a zebra named Ziggy.', user_id='alice')\n"
                     "import os, signal; os.kill(os.getpid(), signal.SIGKILL)", persist=True)  # fmt: skip
    with _open(tmp_path) as m:
        hits = m.search("zebra Ziggy", user_id="alice", recipe="hybrid", limit=3)
        assert "zebra" in hits[0].text
        assert m.snapshots.loaded == 0


def _child(path: Path, code: str, persist: bool = False) -> None:
    """Run ``code`` in another process that has ``path`` open as ``m``, then closes it."""
    script = (
        textwrap.dedent(f"""
        from graphmem import Memory
        m = Memory.open({str(path)!r}, embedder="hash", extractor="offline",
                        track_access=False, persist_indexes={persist})
    """)
        + code
        + "\nm.close()\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, timeout=300)
    assert done.returncode in (0, -9)


def _files(path: Path, part: str) -> list[Path]:
    return sorted((path / "index-snapshot").glob(f"*/*.{part}.npy"))


def _damage_matrix(files: list[Path]) -> None:
    for file in files:
        data = bytearray(file.read_bytes())
        data[-8:] = b"\x00\x00\x80\x7f" * 2  # the last floats become infinities
        file.write_bytes(bytes(data))


def _hostile_payloads(files: list[Path]) -> None:
    for file in files:  # an object array: unpickling it would run ``touch`` on load
        np.save(file, np.array([_Boom()], dtype=object), allow_pickle=True)


def _garbage(files: list[Path]) -> None:
    for file in files:
        file.write_bytes(b"\x93NUMPY not really")


def _scope_swap(files: list[Path]) -> None:  # the manifest files each scope under the other
    path = files[0].parent.parent / "manifest.json"
    manifest = json.loads(path.read_text())
    facts = [e for e in manifest["entries"] if e["collection"] == "facts"]
    facts[0]["scope"], facts[1]["scope"] = facts[1]["scope"], facts[0]["scope"]
    path.write_text(json.dumps(manifest))


class _Boom:
    def __reduce__(self):
        return (__import__("os").system, (f"touch {_BOOM}",))


_BOOM = Path("/tmp/graphmem-test-persist-boom")


@pytest.mark.parametrize("damage,part", [
    (_damage_matrix, "matrix"), (_hostile_payloads, "payloads"), (_garbage, "postings"),
    (_garbage, "neighbours"), (_scope_swap, "ids"), (_garbage, "fine"),
])  # fmt: skip
def test_a_damaged_or_hostile_snapshot_is_rebuilt_never_served(tmp_path, damage, part):
    _fill(tmp_path)
    with _open(tmp_path, persist_indexes=False) as m:
        expected = _answers(m)  # from the stores; a read-only session keeps the snapshot
    files = _files(tmp_path, part if part != "postings" else "term_slots")
    assert len(files) >= 2
    _BOOM.unlink(missing_ok=True)
    damage(files)
    with _open(tmp_path) as m:
        found = _answers(m)
        assert m.snapshots.rejected  # said why, in m.snapshots.rejected and the log
        _scopes_ok(m, found)
    assert not _BOOM.exists()
    # The same ranking as from the stores (ids; scores may differ in the last bits only
    # where the damaged part was the vectors, rebuilt from the store's copy).
    assert {k: [i for i, _s in v] for k, v in found.items()} == {
        k: [i for i, _s in v] for k, v in expected.items()
    }


def test_an_unreadable_manifest_is_ignored(tmp_path):
    _fill(tmp_path)
    (tmp_path / "index-snapshot" / "manifest.json").write_text("{not json")
    with _open(tmp_path) as m:
        assert m.search("Where does Alice work?", user_id="alice", limit=1)
        assert m.snapshots.loaded == 0
        assert m.snapshots.rejected[0][0] == "manifest"


def test_a_snapshot_an_older_graphmem_saved_is_rebuilt_once_and_saved_anew(tmp_path):
    # An upgrade: the data dir's snapshot is in the format the previous release wrote (the
    # graph parts changed shape in format 7). It is refused, not misread, and replaced.
    _fill(tmp_path)
    with _open(tmp_path, persist_indexes=False) as m:
        rebuilt = _answers(m)
    manifest_path = tmp_path / "index-snapshot" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    current = manifest["version"]
    manifest["version"] = current - 1
    manifest_path.write_text(json.dumps(manifest))
    with _open(tmp_path) as m:
        assert _answers(m) == rebuilt
        assert m.snapshots.loaded == 0
        [(what, why)] = m.snapshots.rejected
        assert what == "manifest" and f"format version {current - 1}" in why
    assert json.loads(manifest_path.read_text())["version"] == current
    with _open(tmp_path) as m:
        assert _answers(m) == rebuilt
        assert m.snapshots.rejected == [] and m.snapshots.loaded >= 3


def _json_rows_claiming(stem: str, user: str) -> tuple[np.ndarray, np.ndarray]:
    """The saved rows of ``stem`` rewritten as JSON objects whose ``user_id`` is ``user``:
    the row form snapshots saved before rows had shapes, which a load still reads."""
    blob, offsets = (
        np.load(f"{stem}.payloads.npy").tobytes(),
        np.load(f"{stem}.payload_offsets.npy"),
    )
    rows = []
    for start, end in zip(offsets[:-1], offsets[1:], strict=True):
        row = blob[start:end]
        rows.append(
            row
            if row == b"null"
            else json.dumps(
                {"user_id": user, "id": "x", "text": "Alice works at Acme Corp in Berlin."}
            ).encode()
        )
    forged = b"".join(rows)
    return np.frombuffer(forged, np.uint8), np.cumsum([0, *map(len, rows)], dtype=np.int64)


@pytest.mark.parametrize(
    "how", ["rows naming another user", "a shape reading the scope from the row"]
)
def test_a_payload_forged_past_the_checksums_is_a_clear_error_not_an_answer(tmp_path, how):
    """A file rewritten with its checksums recomputed, so the payload of a memory of
    alice's claims another user, or its rows no longer fit their shapes: reading it
    raises, it is never returned."""
    _fill(tmp_path)
    folder = tmp_path / "index-snapshot"
    manifest = json.loads((folder / "manifest.json").read_text())
    for entry in manifest["entries"]:
        if entry["collection"] == "facts" and entry["scope"]["user_id"] == "alice":
            stem = str(folder / entry["folder"] / entry["name"])
            if how == "rows naming another user":
                blob, offsets = _json_rows_claiming(stem, "xlice")
                for name, array in (("payloads", blob), ("payload_offsets", offsets)):
                    np.save(f"{stem}.{name}.npy", array)
                    entry["arrays"][name][1:] = [list(array.shape), zlib.adler32(array)]
            else:  # the scope's user as one of the row's own values, which it does not hold
                shapes = entry["meta"]["payload_shapes"]
                assert ["user_id", "scope"] in shapes[0]
                shapes[0][shapes[0].index(["user_id", "scope"])] = ["user_id", "v"]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with _open(tmp_path) as m, pytest.raises(StorageError, match="delete that folder"):
        m.search("Where does Alice work?", user_id="alice", recipe="vector", limit=3)


@pytest.mark.parametrize("field,value", [("folder", "../.."), ("folder", "/etc"), ("name", "../x")])
def test_a_manifest_pointing_outside_its_folder_is_refused(tmp_path, field, value):
    _fill(tmp_path)
    path = tmp_path / "index-snapshot" / "manifest.json"
    manifest = json.loads(path.read_text())
    for entry in manifest["entries"]:
        entry[field] = value
    path.write_text(json.dumps(manifest))
    with _open(tmp_path) as m:
        assert m.search("Where does Alice work?", user_id="alice", limit=1)
        assert m.snapshots.loaded == 0
        assert "not a plain name" in m.snapshots.rejected[0][1]


def _slot_twice(ptr: np.ndarray, slots: np.ndarray) -> str | None:
    wide = int(np.argmax(np.diff(ptr)))  # a term held by at least two memories
    if ptr[wide + 1] - ptr[wide] < 2:
        return None
    slots[ptr[wide] + 1] = slots[ptr[wide]]
    return "term_slots"


def _orphan_start(ptr: np.ndarray, slots: np.ndarray) -> str | None:
    if ptr[1] - ptr[0] < 2:
        return None
    ptr[0] = 1  # the first term's first posting belongs to no term
    return "term_ptr"


@pytest.mark.parametrize("forge,why", [(_slot_twice, "slot listed twice"),
                                       (_orphan_start, "postings offsets")])  # fmt: skip
def test_postings_forged_past_the_checksums_are_refused(tmp_path, forge, why):
    """BM25's postings are used as saved (issue 16): a slot listed twice under one term
    would count its words twice, a posting outside every term would unlist the wrong
    words. With the checksums recomputed, each is refused and the index rebuilt, with
    the answers the stores give."""
    expected = _filled_then_forged(
        tmp_path, ("term_ptr", "term_slots"), lambda a: forge(a["term_ptr"], a["term_slots"])
    )
    with _open(tmp_path) as m:
        assert _answers(m) == expected
        assert any(why in reason for _key, reason in m.snapshots.rejected)


def _filled_then_forged(tmp_path: Path, names: tuple[str, ...], forge) -> dict:
    """Fill the dir, keep the stores' answers, then rewrite each facts index's arrays
    ``names`` with ``forge(arrays)`` (it returns the name of the one it changed, or None)
    and its checksum in the manifest, so only the contents are wrong."""
    _fill(tmp_path)
    with _open(tmp_path, persist_indexes=False) as m:
        expected = _answers(m)
    folder = tmp_path / "index-snapshot"
    manifest = json.loads((folder / "manifest.json").read_text())
    forged = 0
    for entry in manifest["entries"]:
        if entry["collection"] != "facts":
            continue
        stem = folder / entry["folder"] / entry["name"]
        arrays = {n: np.load(f"{stem}.{n}.npy") for n in names}
        name = forge(arrays)
        if name is None:
            continue
        np.save(f"{stem}.{name}.npy", arrays[name])
        entry["arrays"][name][2] = zlib.adler32(np.load(f"{stem}.{name}.npy"))
        forged += 1
    assert forged >= 1
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return expected


NEIGHBOUR_FORGERIES = {
    # name: (array rewritten, change to it, the reason given)
    "a slot past the scope": ("neighbour_slots", lambda a: a.__setitem__(0, 10_000), "no memory"),
    "a memory listed twice": ("neighbour_slots", lambda a: a.__setitem__(1, a[0]), "twice"),
    "a group end past the entries": ("neighbour_ends", lambda a: a.__setitem__(-1, a[-1] + 1),
                                     "group sizes"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(NEIGHBOUR_FORGERIES))
def test_neighbours_forged_past_the_checksums_are_refused(tmp_path, case):
    """A scope's neighbours are used as saved: a wrong slot would lift another memory
    beside a hit. With the checksums recomputed, each is refused and the index rebuilt."""
    name, change, why = NEIGHBOUR_FORGERIES[case]

    def forge(arrays: dict) -> str | None:
        try:
            change(arrays[name])
        except IndexError:  # too few neighbours in this scope to forge this way
            return None
        return name

    expected = _filled_then_forged(tmp_path, (name,), forge)
    with _open(tmp_path) as m:
        assert _answers(m) == expected
        assert any(why in reason for _key, reason in m.snapshots.rejected)


def test_an_open_counts_the_whole_graph_once_until_a_write(tmp_path):
    """The saved indexes' check and the agreement check both need the stores' counts; the
    open reads them once (the whole graph's took ~0.15 s at 1M memories), and a write
    makes the next check read them again."""
    _fill(tmp_path)
    seen: list[str] = []
    with Memory.open(tmp_path, embedder="hash", extractor="offline", track_access=False,
                     tracer=lambda name, text, params: seen.append(name)) as m:  # fmt: skip
        assert seen.count("graph_counts_all") == 1
        counted = m.snapshots.counted()
        assert counted["graph"]["facts"] == m.ops.counts(Scope())["facts"] > 0
        assert counted["points"]["facts"] == m.vectors.count("facts", None)
        m.add("Dan builds boats in Oslo.", user_id="bob", infer=False)
        assert m.snapshots.counted() is None


def test_a_close_lets_each_index_go_once_saved_and_saves_the_graph_copy_last(tmp_path, monkeypatch):
    """At 1M memories, holding every index until the close had saved them all put its
    peak RSS ~480 MB over the searches'. Each is let go once written, the smallest
    first, and the graph copy, whose arrays are the largest, is written when no scope
    index is held."""
    from graphmem.index import persist

    seen: list[tuple[str, int]] = []
    sizes: list[int] = []
    m = _open(tmp_path)
    m.add_many([{"text": t} for t in ALICE], user_id="alice")
    m.add_many([{"text": t} for t in BOB], user_id="bob")
    before = _answers(m)  # every index built, none saved yet
    held = m.vectors.held
    real_scope, real_graph = persist.scope_arrays, persist.graph_arrays

    def scope_arrays(index):
        seen.append(("scope", len(held())))
        sizes.append(len(index))
        return real_scope(index)

    def graph_arrays(index):
        seen.append(("graph", len(held())))
        return real_graph(index)

    monkeypatch.setattr(persist, "scope_arrays", scope_arrays)
    monkeypatch.setattr(persist, "graph_arrays", graph_arrays)
    total = len(held())
    m.close()
    assert total >= 4  # facts and entities of both users
    # One fewer held before each scope index is written, none by the graph copy's turn.
    assert [n for kind, n in seen if kind == "scope"] == list(range(total, 0, -1))
    assert seen[-1] == ("graph", 0)
    # The smallest first: the larger ones' arrays are made with less still held.
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
    monkeypatch.undo()
    with _open(tmp_path) as m:  # and what was written answers as before
        assert _answers(m) == before
        assert m.snapshots.loaded >= total + 1 and m.snapshots.rejected == []
