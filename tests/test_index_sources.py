"""Which memories are messages kept whole beside their facts, known without their payloads.

An index holds payloads as JSON, decodes one when it is read and keeps only its gate
(``index/payload_rows.py``). Search asked "is this a kept source?" of every candidate
group and every memory holding a query's words; at 100k memories that was half of a
search's payload reads and, over a hundred searches, ~60% of the rows left decoded in
RAM. ``ScopeIndex.sources`` answers it, kept with every put and drop and saved with the
snapshot.
"""

from __future__ import annotations

import pytest

from graphmem import Memory
from graphmem.index import ScopeIndex
from graphmem.index.payload_rows import _RAW, gate_of
from graphmem.index.snapshot import load_scope, pack, scope_arrays
from graphmem.models import Scope
from graphmem.search.collapse import Groups

SCOPE = Scope.of("u")
ROW = {"user_id": "u", "agent_id": "", "run_id": ""}


def filled() -> ScopeIndex:
    index = ScopeIndex(SCOPE)
    index.put("s", {**ROW, "id": "s", "text": "Caroline went hiking near Oslo", "kind": "source"},
              [1.0, 0.0])  # fmt: skip
    for i, text in enumerate(("Caroline went hiking", "hiking near Oslo")):
        index.put(f"f{i}", {**ROW, "id": f"f{i}", "text": text, "origin": "s"}, [0.9, 0.1])
    index.put("m", {**ROW, "id": "m", "text": "Melanie paints near Oslo"}, [0.0, 1.0])
    return index


def decoded(index: ScopeIndex) -> int:
    return index.payloads.decodes


def test_sources_follow_puts_and_drops():
    index = filled()
    assert index.sources == {"s"}
    assert index.kept_source("s") and not index.kept_source("f0") and not index.kept_source("x")
    index.put("s", {**ROW, "id": "s", "text": "now a plain memory"}, [1.0, 0.0])
    assert not index.kept_source("s")
    index.put("s", {**ROW, "id": "s", "text": "a source again", "kind": "source"}, [1.0, 0.0])
    index.drop("s")
    assert index.sources == set()


def test_a_loaded_index_groups_and_finds_words_without_decoding_payloads():
    live = filled()
    meta, arrays = scope_arrays(live)
    loaded = load_scope(SCOPE, meta, arrays)
    assert loaded.sources == {"s"} and decoded(loaded) == 0
    # All the facts of a message holding the words stand in for it, as in the live index.
    found = sorted(loaded.containing("Oslo"))
    assert found == sorted(live.containing("Oslo")) == ["f0", "f1", "m"]
    assert decoded(loaded) == 0
    groups = Groups(loaded, lambda payload: True)
    assert groups.points("s") == ["s"] and groups.points("m") == ["m"]
    apart = Groups(loaded, lambda payload: True, enabled=False)
    assert apart.points("f0") == ["f0", "s"]  # its source, known from its group
    # Only what the filters must see is decoded (the facts and "m"), never the message.
    assert decoded(loaded) == 3 and loaded.payloads._gates[loaded.slot_of["s"]] is _RAW
    loaded.put("g", {**ROW, "id": "g", "text": "a fact", "origin": "gone"}, [0.5, 0.5])
    assert apart.points("g") == ["g"]  # an origin that is not kept is no source


def test_a_message_groups_its_facts_whichever_is_stored_first_and_after_drops():
    """Facts stored before their message, the message after, facts and message dropped:
    the message's members, in the order stored, are what collapse shows, live and after
    a snapshot's round trip; a memory left alone is a group of its own."""
    index = ScopeIndex(SCOPE)
    index.put("f0", {**ROW, "id": "f0", "text": "Caroline went hiking", "origin": "s"}, [0.9, 0.1])
    index.put("s", {**ROW, "id": "s", "text": "Caroline went hiking near Oslo",
                    "kind": "source"}, [1.0, 0.0])  # fmt: skip
    index.put("f1", {**ROW, "id": "f1", "text": "hiking near Oslo", "origin": "s"}, [0.9, 0.1])
    index.put("m", {**ROW, "id": "m", "text": "Melanie paints"}, [0.0, 1.0])

    def members(found: ScopeIndex) -> dict[str, list[str]]:
        groups = Groups(found, lambda payload: True)
        return {key: groups.members(key) for key in ("s", "m", "f0")}

    def reloaded() -> ScopeIndex:
        return load_scope(SCOPE, *scope_arrays(index))

    expected = {"s": ["f0", "f1"], "m": ["m"], "f0": ["f0"]}
    assert members(index) == members(reloaded()) == expected
    index.drop("f0")
    assert members(index) == members(reloaded()) == {**expected, "s": ["f1"], "f0": []}
    index.drop("s")  # the fact stays grouped under its (gone) message
    assert members(index)["s"] == members(reloaded())["s"] == ["f1"]
    index.drop("f1")
    assert members(index)["s"] == members(reloaded())["s"] == []
    index.put("s", {**ROW, "id": "s", "text": "a plain memory now"}, [1.0, 0.0])
    assert members(index)["s"] == members(reloaded())["s"] == ["s"]


def test_a_snapshot_saved_before_sources_were_kept_still_knows_them():
    meta, arrays = scope_arrays(filled())
    del arrays["sources"]
    loaded = load_scope(SCOPE, meta, arrays)
    assert loaded.sources == {"s"} and decoded(loaded) == 0  # found, and none left decoded


def test_a_forged_source_list_is_refused():
    meta, arrays = scope_arrays(filled())
    from graphmem.index.snapshot import pack

    arrays["sources"] = pack(["not-a-memory"])
    with pytest.raises(ValueError, match="sources"):
        load_scope(SCOPE, meta, arrays)


def test_search_after_reopen_shows_the_message_as_before(tmp_path):
    message = ("Caroline: I went to an LGBTQ support group yesterday. It was so powerful. "
               "Caroline works at Acme.")  # fmt: skip
    with Memory.open(tmp_path, embedder="hash", extractor="offline") as m:
        added = m.add(message, user_id="u", source_ids=["D1:1"])
        m.add("Melanie painted a sunrise by the lake.", user_id="u", source_ids=["D1:2"])
        before = [(h.text, sorted(h.memory_ids)) for h in m.search("support group", user_id="u")]
    with Memory.open(tmp_path, embedder="hash", extractor="offline") as m:
        after = [(h.text, sorted(h.memory_ids)) for h in m.search("support group", user_id="u")]
        apart = {h.text for h in m.search("support group", user_id="u", collapse=False)}
    assert after == before and after[0] == (message, sorted(f.id for f in added.facts))
    assert message not in apart and apart & {f.text for f in added.facts}


def test_a_gated_accept_reads_no_row_and_a_filtered_one_reads_each_every_time():
    loaded = load_scope(SCOPE, *scope_arrays(filled()))

    def gated(payload):
        return payload.get("user_id") == "u"

    gated.gated = True
    groups = Groups(loaded, gated)
    assert groups.members("s") == ["f0", "f1"] and groups.members("m") == ["m"]
    # The gates come from the snapshot's columns: no row's JSON is decoded for them.
    assert decoded(loaded) == 0
    # An accept reading other fields (a caller's filters) sees whole payloads, each read.
    whole = Groups(loaded, lambda payload: "text" in payload)
    assert whole.members("s") == ["f0", "f1"] and decoded(loaded) == 2
    assert Groups(loaded, lambda payload: "text" in payload).members("s") == ["f0", "f1"]
    assert decoded(loaded) == 4
    # Empty fields are left out of a gate: a missing key reads as an empty one.
    assert loaded.gate("f0") == {"id": "f0", "user_id": "u", "origin": "s"}


def test_gates_from_the_saved_columns_are_those_the_rows_say():
    # Search admits and weighs by gates alone: one that differed from its row would hide a
    # memory, show an expired one or rank by another's importance.
    index = ScopeIndex(Scope.of("u", agent_id="bot"))
    row = {"user_id": "u", "agent_id": "bot", "run_id": ""}
    index.put(
        "a",
        {
            **row,
            "id": "a",
            "text": "one",
            "importance": 0.8,
            "kind": "source",
            "created_at": "2026-01-01T00:00:00Z",
            "valid_at": "2025-12-31T00:00:00Z",
            "metadata": {"speaker": "Caroline"},
            "memory_type": "episodic",
        },
        [1.0, 0.0],
    )
    index.put("b", {**row, "id": "b", "text": "two", "importance": 1, "expires_at": "2027-01-01",
                    "archived_at": "", "origin": "a", "metadata": {}}, [0.0, 1.0])  # fmt: skip
    index.put("c", {**row, "id": "c", "text": "three", "importance": True,
                    "invalid_at": "2026-02-02", "kind": ["odd"]}, [0.5, 0.5])  # fmt: skip
    index.put("d", {**row, "id": "d", "text": "dropped"}, [0.5, 0.5])
    index.drop("d")
    loaded = load_scope(index.scope, *scope_arrays(index))
    for point_id in ("a", "b", "c"):
        assert loaded.gate(point_id) == gate_of(index.payloads[index.slot_of[point_id]])
    assert type(loaded.gate("b")["importance"]) is int  # 1 stays 1, not 1.0 or True
    assert loaded.gate("c")["importance"] is True
    assert loaded.payloads.decodes == 1  # "c", whose kind no column holds, alone
    # A snapshot saved before gates had columns still answers, decoding each row's JSON.
    meta, arrays = scope_arrays(index)
    del meta["gate_columns"]
    older = load_scope(index.scope, meta, arrays)
    assert older.gate("a") == loaded.gate("a") and older.payloads.decodes == 1


def test_a_loaded_index_changed_row_by_row_saves_every_row_as_it_now_reads():
    # The save copies runs of rows still in the loaded blob as one slice and the rows
    # written since one by one: a row out of place would answer with another's payload.
    loaded = load_scope(SCOPE, *scope_arrays(filled()))
    loaded.put("f1", {**ROW, "id": "f1", "text": "now in Bergen, é"}, [0.9, 0.1])
    loaded.drop("f0")
    loaded.put("n", {**ROW, "id": "n", "text": "a new memory"}, [0.3, 0.7])
    again = load_scope(SCOPE, *scope_arrays(loaded))
    assert {i: again.payloads[s] for i, s in again.slot_of.items()} == {
        i: loaded.payloads[s] for i, s in loaded.slot_of.items()}  # fmt: skip
    assert again.payloads[again.slot_of["f1"]]["text"] == "now in Bergen, é"
    assert "f0" not in again.slot_of and len(again) == 4
    # Gates too: the rows still as loaded keep their saved codes, the others are encoded,
    # and none is read back from its row's JSON.
    reads = again.payloads.decodes
    assert {i: again.gate(i) for i in again.slot_of} == {
        i: gate_of(loaded.payloads[s]) for i, s in loaded.slot_of.items()}  # fmt: skip
    assert again.payloads.decodes == reads


@pytest.mark.parametrize("forge", ["code past the table", "a list in the table", "wrong shape"])
def test_forged_gate_columns_fail_the_load_so_the_index_is_rebuilt(forge):
    # A snapshot's load that raises ValueError is rebuilt from the stores (persist.py):
    # columns that would hand a search a gate from nowhere must raise, not answer.
    meta, arrays = scope_arrays(filled())
    if forge == "code past the table":
        arrays["gate_codes"] = arrays["gate_codes"].copy()
        arrays["gate_codes"][0, 0] = 10_000
    elif forge == "a list in the table":
        arrays["gate_table"] = pack([["not", "a", "value"]])
    else:
        arrays["gate_codes"] = arrays["gate_codes"][:, :3].copy()
    with pytest.raises(ValueError):
        load_scope(SCOPE, meta, arrays)
