"""The real ``graphmem`` command line, run as a subprocess: --version, --json round trips
into the library's objects, exit codes, tracebacks only with --debug, the progress bar
only on a terminal, bulk add from a file or stdin."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from dataclasses import replace
from importlib import metadata
from pathlib import Path

import pytest

from graphmem import Entity, Fact, HistoryEvent, Hit, Memory, PathStep, Relation
from graphmem.cli import COMMANDS
from graphmem.jsonable import from_jsonable, to_jsonable
from graphmem.memory import AddResult
from graphmem.querylib import QueryLibrary
from graphmem.relations import Neighbour

REPO = Path(__file__).resolve().parents[1]


def cli_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENAI_", "GRAPHMEM_"))}  # fmt: skip
    env.update(PYTHONPATH=str(REPO), GRAPHMEM_DATA_DIR=str(data_dir), GRAPHMEM_EMBEDDER="hash")
    return env


def graphmem(data_dir: Path, *argv: str, stdin: str | None = None, stderr=subprocess.PIPE):
    return subprocess.run(
        [sys.executable, "-m", "graphmem.cli", *argv], input=stdin, capture_output=False,
        stdout=subprocess.PIPE, stderr=stderr, text=True, env=cli_env(data_dir), timeout=300,
    )  # fmt: skip


def ok_json(data_dir: Path, *argv: str, lines: bool = False):
    done = graphmem(data_dir, *argv, "--json")
    assert done.returncode == 0, done.stderr
    if lines:
        return [json.loads(line) for line in done.stdout.splitlines()]
    return json.loads(done.stdout)


def open_memory(data_dir: Path) -> Memory:
    return Memory.open(data_dir, embedder="hash", extractor="offline")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A data dir holding a small two-hop story for user alice, written through the CLI."""
    data = tmp_path_factory.mktemp("cli")
    story = "Alice works at Acme.\nBob is Alice's brother.\nBob lives in Paris.\n"
    done = graphmem(data, "add", "--file", "-", "--user", "alice", "--json", stdin=story)
    assert done.returncode == 0, done.stderr
    return data, from_jsonable(AddResult, json.loads(done.stdout))


def test_version_names_graphmem_and_its_drivers(tmp_path):
    human = graphmem(tmp_path, "--version")
    assert human.returncode == 0
    assert human.stdout.startswith("graphmem 0.1.0")
    assert metadata.version("kuzu") in human.stdout
    data = ok_json(tmp_path, "--version")
    assert data["graphmem"] == "0.1.0"
    assert data["drivers"]["qdrant-edge-py"] == metadata.version("qdrant-edge-py")
    assert data["drivers"]["neo4j"] == metadata.version("neo4j")


def test_bulk_add_json_round_trips_into_facts(store):
    data, added = store
    assert [f.text for f in added.facts] == [
        "Alice works at Acme.", "Bob is Alice's brother.", "Bob lives in Paris."
    ]  # fmt: skip
    assert "Bob -[lives_in]-> Paris" in added.relations
    with open_memory(data) as m:
        for fact in added.facts:
            assert m.get(fact.id, user_id="alice") == fact


def _unread(facts: list[Fact]) -> list[Fact]:
    return [replace(f, access_count=0, last_accessed_at="") for f in facts]


def test_read_commands_json_round_trips(store):
    data, added = store
    facts = [from_jsonable(Fact, d) for d in ok_json(data, "list", "--user", "alice", lines=True)]
    one = from_jsonable(Fact, ok_json(data, "get", added.facts[0].id, "--user", "alice"))
    hits = [from_jsonable(Hit, d) for d in ok_json(
        data, "search", "Where does Alice's brother live?", "--user", "alice", lines=True)]  # fmt: skip
    rels = [from_jsonable(Relation, d)
            for d in ok_json(data, "relations", "Bob", "--user", "alice", lines=True)]  # fmt: skip
    alice = from_jsonable(Entity, ok_json(data, "entity", "alice", "--user", "alice"))
    near = [from_jsonable(Neighbour, d) for d in ok_json(
        data, "neighbours", "Alice", "--depth", "2", "--user", "alice", lines=True)]  # fmt: skip
    routes = ok_json(data, "paths", "Alice", "Paris", "--user", "alice", lines=True)
    events = [from_jsonable(HistoryEvent, d) for d in ok_json(
        data, "history", added.facts[0].id, "--user", "alice", lines=True)]  # fmt: skip
    stats = ok_json(data, "stats", "--user", "alice")
    with open_memory(data) as m:
        # Reads are counted (access_count): the commands since list ran changed the counts.
        assert _unread(facts) == _unread(m.get_all(user_id="alice"))
        assert _unread([one]) == _unread([added.facts[0]])
        assert hits == m.search("Where does Alice's brother live?", limit=5, user_id="alice")
        assert rels == m.graph.relations("Bob", user_id="alice")
        assert alice == m.graph.entity("Alice", user_id="alice")
        assert near == m.graph.neighbours("Alice", 2, user_id="alice")
        assert events == m.history(added.facts[0].id, user_id="alice")
        assert stats == m.stats(user_id="alice")
        expected_routes = m.graph.paths("Alice", "Paris", user_id="alice")
    # The two-hop answer and the way to it, readable without Python.
    assert hits[0].text == "Bob lives in Paris." or hits[1].text == "Bob lives in Paris."
    assert [[from_jsonable(PathStep, s) for s in r] for r in routes] == expected_routes
    assert routes[0] == [{"source": "Alice", "relation": "brother", "target": "Bob"},
                         {"source": "Bob", "relation": "lives_in", "target": "Paris"}]  # fmt: skip
    explained = ok_json(data, "search", "Paris", "--user", "alice", "--limit", "1", lines=True)
    assert explained[0]["explanation"] == from_jsonable(Hit, explained[0]).explain()


def test_write_commands_json(tmp_path):
    one = from_jsonable(AddResult, ok_json(tmp_path, "add", "Dave lives in Rome.", "--user", "d",
                                           "--metadata", '{"topic": "home"}'))  # fmt: skip
    fact = one.facts[0]
    assert fact.metadata == {"topic": "home"} and fact.scope.user_id == "d"
    changed = from_jsonable(Fact, ok_json(tmp_path, "update", fact.id, "Dave lives in Oslo.",
                                          "--user", "d"))  # fmt: skip
    assert changed.id == fact.id and changed.text == "Dave lives in Oslo."
    assert ok_json(tmp_path, "delete", fact.id, "--user", "d") == {
        "deleted": 1,
        "memory_id": fact.id,
    }
    with open_memory(tmp_path) as m:
        assert m.get_all(user_id="d") == []
        assert [e.event for e in m.history(fact.id, user_id="d")] == ["ADD", "UPDATE", "DELETE"]


def test_cypher_commands_json(store):
    data, _ = store
    listed = ok_json(data, "cypher", "ls", lines=True)
    assert [q["name"] for q in listed] == QueryLibrary("kuzu").names()
    shown = ok_json(data, "cypher", "show", "relations_touching", "--backend", "neo4j")
    assert shown["text"] == QueryLibrary("neo4j").get("relations_touching").text
    rows = ok_json(data, "cypher", "run", "MATCH (e:Entity) RETURN e.name AS name ORDER BY name",
                   "--user", "alice", lines=True)  # fmt: skip
    assert rows == [{"name": n} for n in ("Acme", "Alice", "Bob", "Paris")]


def test_human_output_is_the_default(store):
    data, _ = store
    done = graphmem(data, "search", "Where does Alice's brother live?", "--user", "alice")
    assert done.returncode == 0
    assert "Alice -[brother]-> Bob ; Bob -[lives_in]-> Paris" in done.stdout
    assert not done.stdout.lstrip().startswith(("{", "["))


def test_graphmem_error_is_exit_1_with_class_and_no_traceback(store):
    data, _ = store
    done = graphmem(data, "get", "00000000-0000-4000-8000-000000000000", "--user", "alice")
    assert done.returncode == 1
    assert "NotFoundError" in done.stderr and "user_id=alice" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    debug = graphmem(data, "get", "00000000-0000-4000-8000-000000000000", "--user", "alice",
                     "--debug")  # fmt: skip
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_another_scope_is_not_found(store):
    data, added = store
    done = graphmem(data, "get", added.facts[0].id, "--user", "mallory")
    assert done.returncode == 1 and "Alice" not in done.stdout + done.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["search"],  # missing argument
        ["list", "--limit", "many"],  # wrong type
        ["nonsense"],  # unknown command
        [],  # no command
        ["add", "x", "--file", "y"],  # both a text and a file
        ["cypher", "run", "RETURN 1", "--params", "{oops"],  # --params not JSON
    ],
)
def test_usage_errors_are_exit_2(tmp_path, argv):
    done = graphmem(tmp_path, *argv)
    assert done.returncode == 2, done.stderr
    assert "usage:" in done.stderr and "Traceback" not in done.stderr


def test_bad_line_in_a_file_names_it_and_writes_nothing(tmp_path):
    lines = '{"text": "Erin lives in Lyon."}\n{"text": ""}\n'
    done = graphmem(tmp_path, "add", "--file", "-", "--user", "e", stdin=lines)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "text" in done.stderr
    bad_json = graphmem(tmp_path, "add", "--file", "-", "--user", "e",
                        stdin='{"text": "Erin lives in Lyon."}\n{not json\n')  # fmt: skip
    assert bad_json.returncode == 1 and "<stdin>:2" in bad_json.stderr
    with open_memory(tmp_path) as m:
        assert m.get_all(user_id="e") == []


def test_json_lines_file_keeps_metadata(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text('{"text": "Finn works at Initech.", "metadata": {"src": "hr"}}\n'
                    '"Finn lives in Bern."\n', encoding="utf-8")  # fmt: skip
    added = from_jsonable(AddResult, ok_json(tmp_path / "db", "add", "--file", str(path),
                                             "--raw", "--user", "f"))  # fmt: skip
    assert [(f.text, f.metadata) for f in added.facts] == [
        ("Finn works at Initech.", {"src": "hr"}), ("Finn lives in Bern.", {})
    ]  # fmt: skip


def run_on_a_terminal(data_dir: Path, *argv: str, env: dict | None = None) -> tuple[int, str]:
    """Run with stderr on a pseudo-terminal; returns the exit code and what it drew."""
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "graphmem.cli", *argv], stdout=subprocess.PIPE,
            stderr=follower, env={**cli_env(data_dir), **(env or {})},
        )  # fmt: skip
        os.close(follower)
        drawn = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the pty closes when the process exits
                break
            if not chunk:
                break
            drawn += chunk
        proc.stdout.read()
        return proc.wait(timeout=300), drawn.decode(errors="replace")
    finally:
        os.close(leader)


def test_progress_bar_only_on_a_terminal_and_not_with_quiet(tmp_path):
    text = tmp_path / "many.txt"
    text.write_text("".join(f"Person{i} lives in City{i}.\n" for i in range(30)), encoding="utf-8")
    argv = ["add", "--file", str(text), "--raw", "--batch-size", "10", "--user", "p"]
    piped = graphmem(tmp_path / "a", *argv)
    assert piped.returncode == 0 and piped.stderr == ""
    code, drawn = run_on_a_terminal(tmp_path / "b", *argv)
    assert code == 0 and "adding [" in drawn and "30/30" in drawn
    code, drawn = run_on_a_terminal(tmp_path / "c", *argv, "--quiet")
    assert code == 0 and drawn == ""
    code, drawn = run_on_a_terminal(tmp_path / "d", *argv, env={"GRAPHMEM_QUIET": "1"})
    assert code == 0 and drawn == ""


def test_every_command_is_in_the_readme():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## CLI", 1)[1].split("\n## ", 1)[0]
    for name in COMMANDS:
        assert f"graphmem {name}" in section, f"README's CLI section does not show {name!r}"
    assert "| jq" in section


def test_jsonable_keeps_field_names():
    step = PathStep("A", "knows", "B")
    assert to_jsonable(step) == {"source": "A", "relation": "knows", "target": "B"}
    with pytest.raises(ValueError, match="unknown fields"):
        from_jsonable(PathStep, {"source": "A", "relation": "r", "target": "B", "extra": 1})


def test_benchmark_progress_yields_everything_and_is_silent_off_a_terminal(capsys):
    from benchmarks.runtime import progress

    assert list(progress(range(5), total=5, desc="questions")) == [0, 1, 2, 3, 4]
    assert capsys.readouterr().err == ""


def test_bad_files_ports_and_paths_are_usage_errors_not_bugs(tmp_path):
    """Each of these exited 3 ("a bug in graphmem") with Python's own words, or did the
    wrong thing without a word."""
    data = tmp_path / "data"
    folder = tmp_path / "folder"
    folder.mkdir()
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(b'{"kind": "memory", "text": "Caf\xe9"}\n')
    for argv, said in [
        (("export", str(folder)), "cannot write"),
        (("import", str(latin)), "not UTF-8"),
        (("import", str(tmp_path / "missing.jsonl")), "cannot read"),
        (("serve", "--port", "99999"), "not a port"),
        (("serve", "--port", "-1"), "not a port"),
        (("doctor", "--data-dir", str(tmp_path / "typo")), "not a data directory"),
    ]:
        done = graphmem(data, *argv)
        assert done.returncode in (1, 2), (argv, done.returncode, done.stderr[-500:])
        assert said in done.stderr and "Traceback" not in done.stderr, (argv, done.stderr)
    assert not (tmp_path / "typo").exists()  # doctor made no empty data dir to find in order
    # A byte-order mark before the first JSON line: the file is still JSON lines.
    bom = tmp_path / "bom.jsonl"
    bom.write_text('\ufeff{"text": "Bob lives in Rome."}\n', encoding="utf-8")
    assert graphmem(data, "add", "--file", str(bom), "--user", "u").returncode == 0
    with open_memory(data) as m:
        assert [f.text for f in m.get_all(user_id="u")] == ["Bob lives in Rome."]
