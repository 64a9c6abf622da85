"""A ``delete_all`` that raises: what it did is finished or undone, and never replayed on
writes acknowledged after it (``ingest/scope_delete.py``).

The failure is a vector store that refuses one delete (a server hiccup); the stores are
the real embedded ones.
"""

from __future__ import annotations

import pytest

from graphmem import Memory
from graphmem.errors import BackendUnavailableError

SCOPE = {"user_id": "u", "run_id": "r1"}


def _failing_delete(m: Memory, on_call: int):
    """The vector store's delete refuses its ``on_call``-th call (1-based), once."""
    inner, real, calls = m.vectors.inner, m.vectors.inner.delete, [0]

    def delete(collection, ids):
        calls[0] += 1
        if calls[0] == on_call:
            raise BackendUnavailableError("vector store unavailable (injected)")
        return real(collection, ids)

    inner.delete = delete
    return lambda: setattr(inner, "delete", real)


def _texts(m: Memory) -> set[str]:
    return {f.text for f in m.get_all(**SCOPE, limit=2000)}


def test_a_delete_all_refused_at_its_first_page_changes_nothing_now_or_later(tmp_path):
    with Memory.open(tmp_path / "d", embedder="hash") as m:
        m.add_many([{"text": f"Old note {i}."} for i in range(5)], **SCOPE, infer=False)
        restore = _failing_delete(m, on_call=1)
        with pytest.raises(BackendUnavailableError):
            m.delete_all(**SCOPE)
        restore()
        assert len(_texts(m)) == 5 and m.verify().ok
        m.add("Fresh note after the failure.", **SCOPE, infer=False)
        assert len(_texts(m)) == 6  # the failed delete_all is not carried out by the add
    with Memory.open(tmp_path / "d", embedder="hash") as m:
        assert m.recovered == 0
        assert len(_texts(m)) == 6 and "Fresh note after the failure." in _texts(m)
        assert m.verify().ok


def test_a_delete_all_stopped_part_way_is_finished_before_the_next_write(tmp_path):
    with Memory.open(tmp_path / "d", embedder="hash") as m:
        m.add_many([{"text": f"Old note {i}."} for i in range(620)], **SCOPE, infer=False)
        m.add("Someone else's note.", user_id="other", infer=False)
        restore = _failing_delete(m, on_call=2)  # the first page of 500 goes, the second fails
        with pytest.raises(BackendUnavailableError) as info:
            m.delete_all(**SCOPE)
        assert "stopped part-way (500 memories" in "\n".join(info.value.__notes__)
        assert len(_texts(m)) == 120
        restore()
        (fresh,) = m.add("Fresh note after the failure.", **SCOPE, infer=False).facts
        assert _texts(m) == {"Fresh note after the failure."}
        assert m.verify().ok
    with Memory.open(tmp_path / "d", embedder="hash") as m:
        assert m.recovered == 0
        assert [f.id for f in m.get_all(**SCOPE)] == [fresh.id]
        assert [f.text for f in m.get_all(user_id="other")] == ["Someone else's note."]
        assert m.verify().ok


def test_a_delete_all_whose_finish_fails_again_refuses_the_next_write(tmp_path):
    with Memory.open(tmp_path / "d", embedder="hash") as m:
        m.add_many([{"text": f"Old note {i}."} for i in range(520)], **SCOPE, infer=False)
        restore = _failing_delete(m, on_call=2)
        with pytest.raises(BackendUnavailableError):
            m.delete_all(**SCOPE)
        restore()
        restore = _failing_delete(m, on_call=1)  # the store is still down at the next write
        with pytest.raises(BackendUnavailableError):
            m.add("Not yet.", **SCOPE, infer=False)
        restore()
        assert "Not yet." not in _texts(m)
        m.add("Now.", **SCOPE, infer=False)
        assert _texts(m) == {"Now."} and m.verify().ok


def test_a_delete_all_whose_undo_failed_too_is_finished_not_forgotten(tmp_path):
    with Memory.open(tmp_path / "d", embedder="hash") as m:
        m.add_many([{"text": f"Old note {i}."} for i in range(5)], **SCOPE, infer=False)
        inner, upsert = m.vectors.inner, m.vectors.inner.upsert
        restore = _failing_delete(m, on_call=1)

        def refuse(collection, points):  # the undo's re-upsert fails as well
            raise BackendUnavailableError("vector store unavailable (injected)")

        inner.upsert = refuse
        with pytest.raises(BackendUnavailableError) as info:
            m.delete_all(**SCOPE)
        assert any("could not undo" in n for n in info.value.__notes__)
        inner.upsert = upsert
        restore()
        m.add("Fresh note after the failure.", **SCOPE, infer=False)
        assert _texts(m) == {"Fresh note after the failure."}
        assert m.verify().ok
    with Memory.open(tmp_path / "d", embedder="hash") as m:
        assert _texts(m) == {"Fresh note after the failure."} and m.verify().ok
