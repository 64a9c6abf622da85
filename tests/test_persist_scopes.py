"""Saved indexes are trusted scope by scope (issue 16): a write costs only the snapshots of
the scopes it changes, and every other scope's snapshot is still used after the next open,
held or not. Real Kuzu, Qdrant Edge and SQLite; answers compared with a rebuild."""

from __future__ import annotations

import json

from graphmem.models import Scope
from tests.test_persist import QUERIES, _fill, _open


def _facts(user: str) -> tuple:
    return ("scope", "facts", Scope(user_id=user))


def _answers(m, user: str) -> dict:
    return {(recipe, q): [(h.memory_id, round(h.score, 9))
                          for h in m.search(q, user_id=user, recipe=recipe, limit=5)]
            for recipe in ("hybrid", "keyword", "vector") for q in QUERIES}  # fmt: skip


def _rebuilt(path, user: str) -> dict:
    with _open(path, persist_indexes=False) as m:
        return _answers(m, user)


def _manifest(path) -> dict:
    manifest = json.loads((path / "index-snapshot" / "manifest.json").read_text())
    return {(e["kind"], e["collection"], e["scope"]["user_id"] if e["scope"] else None):
            e["folder"] for e in manifest["entries"]}  # fmt: skip


def test_a_write_for_one_user_keeps_the_other_users_snapshot(tmp_path):
    _fill(tmp_path)
    bob_folder = _manifest(tmp_path)["scope", "facts", "bob"]
    with _open(tmp_path) as m:
        m.add("Alice plays the theremin in a jazz band.", user_id="alice")
        # Bob's snapshot was neither loaded by Alice's write nor stopped being trusted.
        assert _facts("bob") in m.snapshots._pending
        assert _facts("alice") not in m.snapshots._pending
    assert _manifest(tmp_path)["scope", "facts", "bob"] == bob_folder  # its files kept
    with _open(tmp_path) as m:
        bob, alice = _answers(m, "bob"), _answers(m, "alice")
        assert m.snapshots.loaded >= 3  # both users' facts and the graph: nothing rebuilt
        assert m.snapshots.rejected == []
        top = m.search("theremin jazz band", user_id="alice", recipe="keyword", limit=1)
        assert "theremin" in top[0].text
    assert bob == _rebuilt(tmp_path, "bob")
    assert alice == _rebuilt(tmp_path, "alice")


def test_a_delete_changes_only_its_own_scopes_snapshot(tmp_path):
    _fill(tmp_path)
    with _open(tmp_path) as m:
        gone = m.search("cat named Miso", user_id="alice", recipe="keyword", limit=1)[0]
        assert "Miso" in gone.text
        m.delete(gone.memory_id, user_id="alice")
        assert _facts("bob") in m.snapshots._pending
    with _open(tmp_path) as m:
        alice = _answers(m, "alice")
        assert m.snapshots.rejected == []
    assert all(gone.memory_id not in {i for i, _s in hits} for hits in alice.values())
    assert alice == _rebuilt(tmp_path, "alice")


def test_a_snapshot_given_out_and_dropped_for_room_is_still_saved(tmp_path):
    _fill(tmp_path)
    with _open(tmp_path, index_max_scopes=1) as m:
        before = _answers(m, "alice")  # loads Alice's facts index from its snapshot
        _answers(m, "bob")  # Bob's pushes it out: one scope per collection is held
        assert ("facts", Scope(user_id="alice")) not in {k[1:] for k in m.vectors.held()}
        m.add("Bob's sister Alice collects stamps.", user_id="bob")
    assert ("scope", "facts", "alice") in _manifest(tmp_path)
    with _open(tmp_path) as m:
        assert _facts("alice") in m.snapshots._pending
        assert _answers(m, "alice") == before
        assert m.snapshots.rejected == []
    assert before == _rebuilt(tmp_path, "alice")


def test_every_write_after_the_first_still_spares_untouched_scopes(tmp_path):
    _fill(tmp_path)
    with _open(tmp_path) as m:
        m.add("Alice plays the theremin in a jazz band.", user_id="alice")
        m.add("Carol sings in a choir.", user_id="carol")  # a scope with no snapshot
        m.add("Bob sells his bicycle.", user_id="bob")  # now Bob's is loaded and written
        assert _facts("bob") not in m.snapshots._pending
        assert [h.text for h in m.search("bicycle", user_id="bob", recipe="keyword", limit=5)
                if "sells" in h.text]  # fmt: skip
    with _open(tmp_path) as m:
        bob = _answers(m, "bob")
    assert bob == _rebuilt(tmp_path, "bob")
