"""Stored text reaches the terminal with its control characters escaped: a memory holding
terminal escape sequences must not retitle the window, move the cursor or hide lines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from graphmem import Memory

ROOT = Path(__file__).resolve().parents[2]
ENTRY = "import sys; from graphmem.cli import main; sys.exit(main(sys.argv[1:]))"

USER = "u"
NASTY = "Alice likes tea \x1b[2J\x1b]0;owned\x07 and\u202ecoffee\x9b"


@pytest.fixture
def data_dir(tmp_path):
    path = tmp_path / "data"
    with Memory.open(path, embedder="hash") as m:
        fact = m.add(NASTY, user_id=USER, infer=False).facts[0]
    return path, fact.id


def cli(*argv: str) -> subprocess.CompletedProcess:
    """The real command line, as a user runs it (output to a pipe, as to a terminal)."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.run([sys.executable, "-c", ENTRY, *argv], capture_output=True,
                          text=True, env=env, timeout=240, check=False)  # fmt: skip


@pytest.mark.parametrize("command", ["list", "search", "history"])
def test_cli_output_shows_control_characters_escaped(data_dir, command):
    path, memory_id = data_dir
    common = ["--data-dir", str(path), "--embedder", "hash", "--user", USER]
    argv = {"list": ["list"], "search": ["search", "Alice tea"],
            "history": ["history", memory_id]}[command]  # fmt: skip
    done = cli(*argv, *common)
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert "Alice likes tea" in out
    for raw in ("\x1b", "\x07", "\u202e", "\x9b"):
        assert raw not in out
    assert "\\x1b[2J" in out and "\\x07" in out and "\\u202e" in out


def test_cli_json_output_has_no_raw_control_characters_and_parses_back(data_dir):
    path, _ = data_dir
    done = cli("list", "--json", "--data-dir", str(path), "--embedder", "hash", "--user", USER)
    assert done.returncode == 0, done.stderr[-2000:]
    for raw in ("\x1b", "\x07", "\u202e", "\x9b"):
        assert raw not in done.stdout
    texts = [json.loads(line)["text"] for line in done.stdout.splitlines() if line.strip()]
    assert texts == [NASTY]  # the same value, only written with escapes


def test_cli_error_messages_escape_stored_or_given_text(data_dir):
    path, _ = data_dir
    done = cli("relations", "Bob\x1b[31m", "--data-dir", str(path), "--embedder", "hash",
               "--user", USER)  # fmt: skip
    assert done.returncode != 0
    assert "\x1b" not in done.stderr and "\\x1b[31m" in done.stderr


def test_cli_output_escapes_bidi_marks_and_line_separators(tmp_path):
    """U+061C (Arabic's bidi mark) reorders what follows; U+2028 and U+2029 start a new
    line in some terminals and editors, so a table row could print as two."""
    path, text = tmp_path / "data", "Tea\u061c with\u2028milk\u2029or juice"
    with Memory.open(path, embedder="hash") as m:
        m.add(text, user_id=USER, infer=False)
    common = ["--data-dir", str(path), "--embedder", "hash", "--user", USER]
    shown = cli("list", *common)
    assert shown.returncode == 0, shown.stderr[-2000:]
    as_json = cli("list", "--json", *common)
    assert as_json.returncode == 0, as_json.stderr[-2000:]
    for out in (shown.stdout, as_json.stdout):
        for raw in ("\u061c", "\u2028", "\u2029"):
            assert raw not in out
    assert "Tea\\u061c with\\u2028milk\\u2029or juice" in shown.stdout
    assert [json.loads(line)["text"] for line in as_json.stdout.splitlines()] == [text]
