"""``graphmem demo``, the README's first command, run as a user runs it: the real command
line in a subprocess, the embedded stores, the local model, no key and no server."""

from __future__ import annotations

import ast
import subprocess
import sys

from tests.test_cli import REPO, cli_env

ALICE = {"Alice works at Acme.", "Bob is Alice's brother.", "Bob lives in Paris.",
         "Alice moved from Acme to Globex.", "I love hiking in the Alps with my sister Carol."}  # fmt: skip


def sections(out: str) -> dict[str, list[str]]:
    """The demo's output by ``== heading``: each heading's lines, stripped, blanks left out."""
    found: dict[str, list[str]] = {}
    lines: list[str] = []
    for line in out.splitlines():
        if line.startswith("== "):
            lines = found.setdefault(line[3:], [])
        elif line.strip():
            lines.append(line.strip())
    return found


def test_the_demo_tells_the_story_the_readme_promises_and_runs_again(tmp_path):
    """Supersession, a past state, a two-hop path, a hybrid hit that explains itself, and
    a user who sees none of another's memories; a second run on the same data dir starts
    the story afresh instead of doubling it."""
    env = cli_env(tmp_path)
    del env["GRAPHMEM_EMBEDDER"]  # the demo as the README runs it, with the local model
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-m", "graphmem.cli", "demo", "--data-dir", str(tmp_path / "d")],
            capture_output=True, text=True, env=env, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        assert "(embedder: local)" in done.stdout  # the model the README installs
        got = sections(done.stdout)
        # As a list: a second run that doubled the story would list memories twice.
        assert sorted(got["memories of alice (current)"]) == sorted(
            ALICE - {"Alice works at Acme."}
        )
        assert sorted(got["memories of dave (current)"]) == [
            "Dave lives in Rome.",
            "Dave works at Initech.",
        ]
        relations = " | ".join(got["relations of Alice (current; Acme was superseded by Globex)"])
        assert "Alice -[works_at]-> Globex  (since 2024-06-15)" in relations
        assert "Alice -[brother]-> Bob" in relations and "Acme" not in relations
        assert got["where did Alice work on 2024-03-01?  (as_of)"] == ["Alice -[works_at]-> Acme"]
        assert got["how is Alice connected to Paris?"] == [
            "Alice -[brother]-> Bob ; Bob -[lives_in]-> Paris"
        ]
        hits = got['hybrid search: "where does Alice\'s brother live?"']
        assert len(hits) == 6  # three hits, each with its explanation
        texts = [line.split(". ", 1)[1] for line in hits[0::2]]
        assert "Bob lives in Paris." in texts[:2], texts
        why = hits[2 * texts.index("Bob lives in Paris.") + 1]
        assert "graph" in why and why.endswith(
            "via Alice -[brother]-> Bob ; Bob -[lives_in]-> Paris"
        )
        heading = next(h for h in got if h.startswith("dave cannot see alice's memories:"))
        seen = ast.literal_eval(heading.split(":", 1)[1].strip())
        assert seen and not ALICE.intersection(seen), seen


def test_the_readme_python_example_runs_as_written_and_finds_what_its_comments_say(
    tmp_path, monkeypatch, capsys
):
    """The README's first Python block, copied as a user copies it (it opens
    ``./memory-data``): it must run to its end, and what its comments promise must hold."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)  # Memory.open reads no environment: only from_env does
    exec(compile(block, "README.md", "exec"), {})  # noqa: S102 - the README's own example
    printed = capsys.readouterr().out
    assert "Bob lives in Paris." in printed and "Alice -[brother]-> Bob" in printed, printed
    from graphmem import Memory

    with Memory.open(tmp_path / "memory-data") as m:
        now = {(r.name, r.target_name) for r in m.graph.relations("Alice", user_id="alice")}
        assert {("works_at", "Globex"), ("brother", "Bob"), ("mentors", "Dana")} <= now, now
        then = m.graph.relations("Alice", user_id="alice", as_of="2024-03-01")
        assert ("works_at", "Acme") in {(r.name, r.target_name) for r in then}
        steps = m.graph.paths("Alice", "Paris", user_id="alice")[0]
        assert [(s.source, s.relation, s.target) for s in steps] == [
            ("Alice", "brother", "Bob"), ("Bob", "lives_in", "Paris")]  # fmt: skip
