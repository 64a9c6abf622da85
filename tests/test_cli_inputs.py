"""What the command line is given, read as the user meant or refused by name: bulk files
(``add --file``), closed standard streams, key store paths and server settings. The real
command line in a subprocess, as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from graphmem import Memory

ROOT = Path(__file__).resolve().parents[1]
ENTRY = "import sys; from graphmem.cli import main; sys.exit(main(sys.argv[1:]))"


def cli(*argv: str, stdin: bytes | None = None, closed_stdin: bool = False,
        closed_stdout: bool = False):  # fmt: skip
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "GRAPHMEM_EMBEDDER": "hash", "LC_ALL": "C"}  # fmt: skip
    # A closed stdin (``<&-``): fd 0 is shut in the child before Python starts.
    fds = [fd for fd, closed in ((0, closed_stdin), (1, closed_stdout)) if closed]
    shut = (lambda: [os.close(fd) for fd in fds]) if fds else None
    child = subprocess.Popen([sys.executable, "-c", ENTRY, *argv],
                             stdin=subprocess.PIPE if stdin is not None else None,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                             preexec_fn=shut)  # fmt: skip
    out, err = child.communicate(stdin, timeout=240)
    return child.returncode, out.decode(), err.decode()


def _stored(data: Path) -> list[str]:
    with Memory.open(data, embedder="hash") as m:
        return sorted(f.text for f in m.get_all(user_id="u"))


def test_a_json_string_holding_a_unicode_line_separator_is_one_record(tmp_path):
    """``str.splitlines`` cut the first record at U+2028 (legal inside a JSON string), so
    the file was read as text lines and its JSON stored verbatim."""
    lines = tmp_path / "notes.jsonl"
    lines.write_text('{"text": "Alice said: first\\u2028second"}\n'.replace("\\u2028", "\u2028")
                     + '{"text": "Bob lives in Paris."}\n', encoding="utf-8")  # fmt: skip
    data = tmp_path / "data"
    code, _, err = cli("add", "--file", str(lines), "--raw", "--user", "u", "--data-dir", str(data))
    assert code == 0, err
    assert _stored(data) == ["Alice said: first\u2028second", "Bob lives in Paris."]


def test_a_refused_record_is_named_by_its_line_in_the_file(tmp_path):
    lines = tmp_path / "notes.jsonl"
    lines.write_text('{"text": "One."}\n\n{"text": "Two."}\n{"text": 5}\n', encoding="utf-8")
    data = tmp_path / "data"
    code, _, err = cli("add", "--file", str(lines), "--raw", "--user", "u", "--data-dir", str(data))
    assert code == 1 and f"{lines}:4.text" in err, err
    assert "items[" not in err


def test_json_nested_too_deeply_is_an_input_error_not_a_bug(tmp_path):
    deep = "[" * 5000 + "]" * 5000
    data = tmp_path / "data"
    code, _, err = cli(
        "add", "Ann naps.", "--metadata", deep, "--user", "u", "--data-dir", str(data)
    )
    assert code == 2 and "nested too deeply" in err, err
    lines = tmp_path / "deep.jsonl"
    lines.write_text('{"text": "One."}\n{"text": "Two.", "metadata": ' + deep + "}\n")
    code, _, err = cli("add", "--file", str(lines), "--user", "u", "--data-dir", str(data))
    assert code == 1 and f"{lines}:2" in err and "nested too deeply" in err, err


@pytest.mark.parametrize(("stdin", "closed", "said"), [
    (b"Ann \xff naps.\n", False, "<stdin> is not UTF-8 text"),
    (None, True, "stdin is closed"),
], ids=["not-utf8", "closed"])  # fmt: skip
def test_stdin_that_cannot_be_read_says_why(tmp_path, stdin, closed, said):
    code, _, err = cli("add", "--file", "-", "--user", "u", "--data-dir", str(tmp_path / "d"),
                       stdin=stdin, closed_stdin=closed)  # fmt: skip
    assert code == 1 and said in err, err
    assert "Traceback" not in err


def test_import_from_a_closed_stdin_says_stdin_is_closed(tmp_path):
    """It said the export had no header: a closed stdin reads as the empty null device."""
    code, _, err = cli("import", "-", "--data-dir", str(tmp_path / "d"), closed_stdin=True)
    assert code == 1 and "stdin is closed" in err and "header" not in err, err
    code, _, err = cli("import", "-", "--data-dir", str(tmp_path / "d"), stdin=b"")
    assert code == 1 and "header" in err and "stdin is closed" not in err, err


def test_mcp_with_stdout_closed_refuses_and_writes_into_no_store_file(tmp_path):
    """Started with fd 1 closed, the data dir's lock file became fd 1 and received the
    JSON-RPC answers."""
    data = tmp_path / "data"
    code, _, err = cli("mcp", "--user", "u", "--data-dir", str(data), closed_stdout=True,
                       stdin=b'{"jsonrpc": "2.0", "id": 1, "method": "ping"}\n')  # fmt: skip
    assert code == 2 and "stdout is closed" in err, err
    assert not (data / ".lock").exists() or b"jsonrpc" not in (data / ".lock").read_bytes()


def test_a_listing_with_stdout_closed_is_no_bug(tmp_path):
    data = tmp_path / "data"
    with Memory.open(data, embedder="hash") as m:
        m.add("Ann naps.", user_id="u", infer=False)
    code, _, err = cli("list", "--user", "u", "--data-dir", str(data), closed_stdout=True)
    assert code == 0 and "Traceback" not in err and "bug" not in err, err
    assert b"Ann naps" not in (data / ".lock").read_bytes()


@pytest.mark.parametrize("where", ["text-file", "directory", "missing", "name-too-long"])
def test_a_key_store_path_that_cannot_be_one_is_named(tmp_path, where):
    # A name past 255 bytes failed as an OSError from a stat (exit 3, "this is a bug").
    target = {"text-file": tmp_path / "notes.txt", "directory": tmp_path,
              "missing": tmp_path / "typo" / "keys.sqlite",
              "name-too-long": tmp_path / ("k" * 300)}[where]  # fmt: skip
    if where == "text-file":
        target.write_text("not a database")
    code, _, err = cli("keys", "list", "--keys", str(target))
    assert code == 1 and str(target) in err and "Traceback" not in err, err
    assert where != "missing" or not target.parent.exists()  # nothing made by a list


def test_serve_settings_that_cannot_work_are_usage_errors_and_a_taken_port_is_named(tmp_path):
    code, _, err = cli("serve", "--readers", "0", "--data-dir", str(tmp_path / "d"))
    assert code == 2 and "--readers" in err, err
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        code, _, err = cli("serve", "--port", port, "--data-dir", str(tmp_path / "d"))
    assert code == 1 and f"could not serve on 127.0.0.1:{port}" in err, err


@pytest.mark.parametrize("name", ["missing", "n" * 300], ids=["missing", "name-too-long"])
def test_doctor_on_a_data_dir_that_is_not_there_says_so(tmp_path, name):
    """A name past 255 bytes failed as an OSError from a stat (exit 3, "this is a bug")."""
    code, _, err = cli("doctor", "--data-dir", str(tmp_path / name))
    assert code == 1 and "is not a data directory" in err and "bug" not in err, err
    assert list(tmp_path.iterdir()) == []
