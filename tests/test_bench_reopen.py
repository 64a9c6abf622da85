"""``python -m benchmarks.reopen``: a data dir reopened round after round keeps loading
its indexes from the snapshot, even where it holds more scopes than a process keeps."""

from __future__ import annotations

import json

from benchmarks import reopen
from graphmem import Memory

USERS = {"alice": ["Alice works at Acme in Berlin.", "Alice's brother Bob lives in Paris."],
         "bob": ["Bob paints landscapes.", "Bob moved from Lyon to Paris in 2019."]}  # fmt: skip


def test_every_round_loads_the_searched_scope_from_the_snapshot(tmp_path):
    data = tmp_path / "data"
    with Memory.open(data, embedder="hash", track_access=False) as m:
        for user, texts in USERS.items():
            m.add_many([{"text": t} for t in texts], user_id=user, infer=False)
            m.search("Paris", user_id=user)  # built, so the close saves it
    out = tmp_path / "out"
    # One scope per collection held: each close's access-tracking write used to drop
    # the snapshots of the other scope, and the next round rebuilt from the stores.
    reopen.main(["--data", str(data), "--query", "Where does Alice's brother live?",
                 "--scope", "alice", "--rounds", "3", "--index-max-scopes", "1",
                 "--workdir", str(tmp_path / "work"), "--out", str(out)])  # fmt: skip
    document = json.loads((out / "results.json").read_text())
    [runs] = document["results"]["rounds"].values()
    loaded = [run["indexes_loaded"] for run in runs]
    assert len(loaded) == 3 and loaded[0] >= 2  # the scope's facts and the graph, at least
    assert loaded == [loaded[0]] * 3, loaded
    assert "Median of the rounds" in (out / "results.md").read_text()


def test_serve_searches_every_scope_and_records_what_the_process_holds(tmp_path):
    data = tmp_path / "data"
    with Memory.open(data, embedder="hash", track_access=False) as m:
        for user, texts in USERS.items():
            m.add_many([{"text": t} for t in texts], user_id=user, infer=False)
    out = tmp_path / "out"
    reopen.main(["--data", str(data), "--query", "Paris", "--scope", "alice", "--rounds", "1",
                 "--serve", "alice,bob", "--workdir", str(tmp_path / "work"),
                 "--out", str(out)])  # fmt: skip
    [[run]] = json.loads((out / "results.json").read_text())["results"]["rounds"].values()
    assert run["serve_scopes"] == ["alice", "bob"]
    assert len(run["serve_search_s"]) == len(run["serve_rss_mb"]) == 2
    assert run["serve_rss_mb"][-1] > 10  # a Python process with graphmem loaded, in MB
    assert run["serve_rss_parts_mb"]["anon"] > 0
    assert "Then one search in each scope" in (out / "results.md").read_text()
