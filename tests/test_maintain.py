"""Memory lifecycle (issue 17): archive/restore, access counts, maintain() and its CLI.

Time is an injected clock; the stores are the real embedded ones, on both Qdrant Edge
and qdrant-client's local mode.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from lifecycle_helpers import Clock

from graphmem import ConfigError, Memory, NotFoundError, ValidationError

POLICY = {
    "archive_after_days": 30, "archive_importance_below": 0.3, "promote_min_access": 2,
    "ttl_by_scope": {"run": "7d"}, "access_flush_s": 3600,
}  # fmt: skip


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture(params=["edge", "local"])
def mem(tmp_path, request, clock):
    with Memory.open(tmp_path / "data", embedder="hash", extractor="offline",
                     vectors=request.param, clock=clock, **POLICY) as m:  # fmt: skip
        yield m


def events(m: Memory, memory_id: str, **scope) -> list[str]:
    return [e.event for e in m.history(memory_id, **scope)]


# -- archive / restore -----------------------------------------------------------------


def test_archive_hides_and_restore_brings_back(mem):
    (fact,) = mem.add("Quinn collects stamps.", user_id="u", infer=False)
    archived = mem.archive(fact.id, user_id="u")
    assert archived.archived_at == "2026-03-01T09:00:00.000000Z"
    assert mem.search("Quinn stamps", user_id="u") == []
    assert mem.get_all(user_id="u") == []
    kept = mem.search("Quinn stamps", user_id="u", include_archived=True)
    assert [h.text for h in kept] == ["Quinn collects stamps."]
    assert [f.id for f in mem.get_all(user_id="u", include_archived=True)] == [fact.id]
    assert mem.get(fact.id, user_id="u").archived_at  # by id: still there, marked
    assert mem.restore(fact.id, user_id="u").archived_at == ""
    assert [h.text for h in mem.search("Quinn stamps", user_id="u")] == ["Quinn collects stamps."]
    assert events(mem, fact.id, user_id="u") == ["ADD", "ARCHIVE", "RESTORE"]
    assert mem.verify().ok


def test_archive_of_another_scope_is_not_found_and_changes_nothing(mem):
    (fact,) = mem.add("Rita plays the cello.", user_id="owner", infer=False)
    for call in (mem.archive, mem.restore):
        with pytest.raises(NotFoundError):
            call(fact.id, user_id="intruder")
    assert mem.get(fact.id, user_id="owner").archived_at == ""
    assert events(mem, fact.id, user_id="owner") == ["ADD"]


# -- access counts -----------------------------------------------------------------------


def test_reads_are_counted_once_flushed(mem, clock):
    (fact,) = mem.add("Sam drives a green van.", user_id="u", infer=False)
    mem.add("Tess rides a blue bike.", user_id="u", infer=False)
    for _ in range(3):
        assert mem.search("green van", user_id="u", limit=1)[0].memory_id == fact.id
    clock.advance(hours=1)
    mem.get(fact.id, user_id="u")
    # Counted off the hot path: nothing is written until a flush (here: maintain).
    assert mem.get_all(user_id="u")[0].access_count == 0
    mem.maintain(user_id="u")
    counts = {f.text: (f.access_count, f.last_accessed_at) for f in mem.get_all(user_id="u")}
    assert counts == {
        "Sam drives a green van.": (4, "2026-03-01T10:00:00.000000Z"),
        "Tess rides a blue bike.": (0, ""),
    }
    assert events(mem, fact.id, user_id="u") == ["ADD"]  # reads are not history
    assert mem.verify().ok


def test_a_flush_of_many_reads_counts_each_once(mem):
    # The flush writes 100 memories at a time (searches run in between): 250 read memories
    # take three writes, and no memory is counted twice or left out.
    added = mem.add_many([{"text": f"Note {n}: the shed key is under pot {n}."} for n in range(250)],
                         user_id="u", infer=False).facts  # fmt: skip
    for fact in added:
        mem.get(fact.id, user_id="u")
    mem.get(added[0].id, user_id="u")
    mem.maintain(user_id="u")
    counts = sorted(f.access_count for f in mem.get_all(user_id="u", limit=1000))
    assert counts == [1] * 249 + [2]


def test_a_flush_changes_the_counts_and_nothing_else(mem, clock):
    # The flush rewrites each read memory's payload: everything else it holds must come
    # back as it was, in the store and in the search index, and filters must still match.
    meta = {"speaker": "Tim", "tags": ["garden", "ünïcode"], "where": {"room": 3}}
    (fact,) = mem.add("Tim waters the ferns on Sundays.", user_id="u", agent_id="a",
                      infer=False, metadata=meta, memory_type="episodic", importance=0.8,
                      ttl="30d")  # fmt: skip
    before = mem.get(fact.id, user_id="u", agent_id="a").to_dict()
    clock.advance(hours=1)
    assert mem.search("ferns", user_id="u", agent_id="a")[0].memory_id == fact.id
    assert mem.access.flush() == 1
    after = mem.get(fact.id, user_id="u", agent_id="a")
    assert (after.access_count, after.last_accessed_at) == (2, "2026-03-01T10:00:00.000000Z")
    changed = {k for k, v in after.to_dict().items() if before.get(k) != v}
    assert changed == {"access_count", "last_accessed_at"}
    hits = mem.search("ferns", user_id="u", agent_id="a", filters={"metadata.speaker": "Tim"})
    assert [h.memory_id for h in hits] == [fact.id]
    assert mem.search("ferns", user_id="u", agent_id="other") == []
    assert events(mem, fact.id, user_id="u") == ["ADD"]
    assert mem.verify().ok


def test_counts_survive_close_and_can_be_turned_off(tmp_path, clock):
    with Memory.open(tmp_path / "d", embedder="hash", extractor="offline", clock=clock) as m:
        (fact,) = m.add("Uma grows tomatoes.", user_id="u", infer=False)
        m.search("tomatoes", user_id="u")
    with Memory.open(tmp_path / "d", embedder="hash", extractor="offline",
                     track_access=False) as m:  # fmt: skip
        assert m.get(fact.id, user_id="u").access_count == 1
        m.search("tomatoes", user_id="u")
    with Memory.open(tmp_path / "d", embedder="hash", extractor="offline") as m:
        assert m.get(fact.id, user_id="u").access_count == 1


# -- maintain ----------------------------------------------------------------------------


def test_maintain_deletes_what_expired_with_an_event(mem, clock):
    (short,) = mem.add("Vic is at the dentist.", user_id="u", infer=False, ttl="1h")
    (kept,) = mem.add("Vic has two sisters.", user_id="u", infer=False)
    assert mem.maintain(user_id="u").expired == []
    clock.advance(hours=2)
    report = mem.maintain(user_id="u")
    assert report.expired == [short.id]
    assert events(mem, short.id, user_id="u") == ["ADD", "EXPIRE"]
    assert [f.id for f in mem.get_all(user_id="u", include_invalid=True)] == [kept.id]
    assert mem.stats(user_id="u")["memories"] == 1
    assert mem.verify().ok


def test_the_archival_policy_and_restore(mem, clock):
    (dull,) = mem.add("The kettle is white.", user_id="u", infer=False, importance=0.1)
    (read,) = mem.add("The door code is 4512.", user_id="u", infer=False, importance=0.1)
    (big,) = mem.add("Wes is allergic to bees.", user_id="u", infer=False, importance=0.9)
    (rule,) = mem.add("Reply briefly.", user_id="u", infer=False, importance=0.1,
                      memory_type="rule")  # fmt: skip
    mem.search("door code", user_id="u", limit=1)
    clock.advance(days=29)
    assert mem.maintain(user_id="u").archived == []  # not old enough yet
    clock.advance(days=2)
    report = mem.maintain(user_id="u")
    assert report.archived == [dull.id]  # read once, important, or a rule: kept
    assert events(mem, dull.id, user_id="u") == ["ADD", "ARCHIVE"]
    assert dull.id not in {f.id for f in mem.get_all(user_id="u")}
    assert mem.maintain(user_id="u").archived == []  # once
    mem.restore(dull.id, user_id="u")
    assert {f.id for f in mem.get_all(user_id="u")} == {dull.id, read.id, big.id, rule.id}
    assert mem.verify().ok


def test_promotion_copies_a_run_memory_to_its_user_once(mem, clock):
    (fact,) = mem.add("Xena's flight lands at 6pm.", user_id="u", run_id="trip", infer=False)
    (other,) = mem.add("The hotel has a pool.", user_id="u", run_id="trip", infer=False)
    assert fact.expires_at == "2026-03-08T09:00:00.000000Z"  # ttl_by_scope run
    for _ in range(2):
        mem.search("Xena flight", user_id="u", run_id="trip", limit=1)
    report = mem.maintain(user_id="u")
    assert report.promoted == [fact.id] and len(report.copies) == 1
    copy = mem.get(report.copies[0], user_id="u")
    assert (copy.text, copy.scope.run_id, copy.promoted_from) == (fact.text, "", fact.id)
    assert copy.expires_at == ""  # a user-scoped memory: no run ttl
    assert events(mem, copy.id, user_id="u") == ["PROMOTE"]
    assert mem.history(copy.id, user_id="u")[0].details["promoted_from"] == fact.id
    again = mem.maintain(user_id="u")
    assert (again.promoted, again.copies) == ([], [])
    clock.advance(days=8)  # the run's memories expire; the promoted one stays
    assert sorted(mem.maintain(user_id="u").expired) == sorted([fact.id, other.id])
    assert [f.text for f in mem.get_all(user_id="u")] == ["Xena's flight lands at 6pm."]
    assert mem.verify().ok


def test_a_promoted_copy_the_user_deleted_stays_deleted(mem):
    (fact,) = mem.add("Yuri's train leaves at noon.", user_id="u", run_id="trip", infer=False)
    for _ in range(2):
        mem.search("Yuri train", user_id="u", run_id="trip", limit=1)
    (copy,) = mem.maintain(user_id="u").copies
    mem.delete(copy, user_id="u")
    again = mem.maintain(user_id="u")
    assert (again.promoted, again.copies) == ([], [])
    assert [f.id for f in mem.get_all(user_id="u")] == [fact.id]  # the run's original only
    assert events(mem, copy, user_id="u") == ["PROMOTE", "DELETE"]
    assert mem.verify().ok


def test_promotion_by_importance_in_a_run_scope_only_maintain(tmp_path, clock):
    with Memory.open(tmp_path / "d", embedder="hash", extractor="offline", clock=clock,
                     promote_min_importance=0.8) as m:  # fmt: skip
        (fact,) = m.add("Yuri needs a wheelchair.", user_id="u", run_id="r", importance=0.9,
                        infer=False)  # fmt: skip
        m.add("Yuri ordered soup.", user_id="u", run_id="r", infer=False)
        assert m.maintain(user_id="u", run_id="r").promoted == [fact.id]
        assert m.maintain(user_id="u", run_id="r").promoted == []  # the copy is found
        assert m.maintain(user_id="u").promoted == []


def test_maintain_checks_its_arguments(mem):
    with pytest.raises(ValidationError, match="now"):
        mem.maintain(now="soon", user_id="u")
    with pytest.raises(ValidationError):
        mem.maintain(user="u")
    for bad in ({"ttl_by_type": {"diary": "1d"}}, {"ttl_by_scope": {"run": "soon"}},
                {"archive_importance_below": 2}, {"track_access": "yes"}):  # fmt: skip
        with pytest.raises(ConfigError):
            Memory.open(mem.config.data_dir.parent / "x", embedder="hash", **bad)


def test_the_maintain_command(tmp_path, clock):
    data = tmp_path / "d"
    with Memory.open(data, embedder="hash", extractor="offline") as m:
        (fact,) = m.add("Zoe is in a meeting.", user_id="u", infer=False, ttl="1h")
    run = [sys.executable, "-m", "graphmem.cli", "maintain", "--data-dir", str(data),
           "--embedder", "hash", "--json"]  # fmt: skip
    done = subprocess.run([*run, "--now", "2099-01-01T00:00:00Z"], capture_output=True,
                          text=True, check=True)  # fmt: skip
    assert json.loads(done.stdout)["expired"] == [fact.id]
    refused = subprocess.run([*run, "--now", "later"], capture_output=True, text=True)
    assert refused.returncode != 0 and "now" in refused.stderr
