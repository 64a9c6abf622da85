"""``graphmem serve`` and ``graphmem mcp`` stopped by SIGTERM or Ctrl-C close their memory
first."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from graphmem import Client, Memory
from graphmem.testing.server import ServedMemory

_MAIN = "import sys; from graphmem.cli import main; sys.exit(main(sys.argv[1:]))"


def _written(data_dir) -> tuple[list[str], int]:
    with Memory.open(data_dir, embedder="hash") as m:
        texts = sorted(f.text for f in m.get_all(user_id="alice"))
        m.search("Acme", user_id="alice")  # loads the scope's saved index, if any
        return texts, m.snapshots.loaded


STOPS = [signal.SIGTERM, signal.SIGINT]


@pytest.mark.parametrize("stop", STOPS)
def test_serve_closes_its_memory_on_a_stop_signal(tmp_path, stop):
    """A service manager's stop (SIGTERM) ended the process before: uvicorn re-raised the
    signal after its shutdown, the memory was never closed, its indexes were not saved,
    and the graph was left to replay its log (which Kuzu 0.11.3 could fail)."""
    served = ServedMemory(tmp_path, embedder="hash")
    try:
        key, _ = served.keys.create(user_id="alice")
        with Client(served.url, key) as c:
            kept = c.add("Alice works at Acme.").facts
            gone = c.add("Bob lives in Paris.").facts
            c.delete(gone[0].id)
            c.search("Acme")  # builds the scope's index, which the close saves
    finally:
        served.process.send_signal(stop)
        served.process.wait(timeout=60)
        output = served.stop()
    assert served.process.returncode == 128 + stop, output[-2000:]
    texts, loaded = _written(tmp_path)
    assert texts == [kept[0].text]
    assert loaded >= 1  # the close ran: the next open loads its saved indexes


@pytest.mark.parametrize("stop", STOPS)
def test_mcp_stdio_closes_its_memory_on_a_stop_signal(tmp_path, stop):
    """Ctrl-C hung: its KeyboardInterrupt never left the event loop, which waited on the
    stdin reader, and the memory stayed unclosed. Then a signal that came just after an
    answer hung one stop in three: raised in the loop's own code, a task caught it. Three
    sessions in a row on one data directory, each stopped just after its answer."""
    texts = [f"Alice works at Acme since {year}." for year in (2019, 2020, 2021)]
    for text in texts:
        code, stderr = _stopped_mcp_session(tmp_path, stop, text)
        assert code == 128 + stop, stderr[-2000:]
    kept, loaded = _written(tmp_path)
    assert kept == texts
    assert loaded >= 1


def _stopped_mcp_session(data_dir, stop: int, text: str) -> tuple[int | None, str]:
    """Remembers ``text``, recalls it, and sends ``stop`` the moment the answer is read;
    returns the exit code (None: it never exited) and what it wrote on stderr."""
    child = subprocess.Popen(
        [sys.executable, "-c", _MAIN, "mcp", "--data-dir", str(data_dir), "--embedder", "hash",
         "--user", "alice"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    code = None
    try:
        hello = {"protocolVersion": "2025-06-18", "capabilities": {},
                 "clientInfo": {"name": "test", "version": "1"}}  # fmt: skip
        calls = [
            {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello},
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
             "params": {"name": "remember", "arguments": {"text": text}}},
            {"jsonrpc": "2.0", "id": 3, "method": "tools/call",
             "params": {"name": "recall", "arguments": {"query": "Acme"}}},
        ]  # fmt: skip
        answer = ""
        for call in calls:
            child.stdin.write(json.dumps(call) + "\n")
            child.stdin.flush()
            if "id" in call:
                answer = child.stdout.readline()
        child.send_signal(stop)
        assert "Acme" in answer
        code = child.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    return code, child.stderr.read()


def test_mcp_stdio_still_starts_where_the_event_loop_takes_no_signals():
    """Windows' event loop has no signal handlers: the stop watch must step aside (the
    caller's own handlers stay in charge) instead of failing the session's start."""
    import asyncio

    import anyio

    from graphmem.mcp import stdio

    async def start() -> list[int]:
        def refuse(*args, **kwargs):
            raise NotImplementedError

        asyncio.get_running_loop().add_signal_handler = refuse
        stopped: list[int] = []
        async with anyio.create_task_group() as tg:
            await tg.start(stdio._watch, tg.cancel_scope, stopped)
        return stopped

    assert anyio.run(start) == []


def _mcp_child(data_dir) -> subprocess.Popen:
    child = subprocess.Popen(
        [sys.executable, "-c", _MAIN, "mcp", "--data-dir", str(data_dir), "--embedder", "hash",
         "--user", "alice"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    hello = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"}}}  # fmt: skip
    child.stdin.write(json.dumps(hello).encode() + b"\n")
    child.stdin.write(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
    child.stdin.flush()
    assert b'"id":0' in child.stdout.readline()
    return child


def _exit_code(child: subprocess.Popen, timeout: float = 60) -> int | None:
    try:
        return child.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
        return None


@pytest.mark.parametrize("stop", STOPS)
def test_mcp_stdio_stops_while_its_client_reads_nothing(tmp_path, stop):
    """With a client that had stopped reading (the answers filled the pipe), a stop signal
    never ended the process: the SDK's writer sat in a worker thread the cancelled session
    waited for (still running 60 s after SIGTERM, found by a protocol probe)."""
    child = _mcp_child(tmp_path)
    remember = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": {"name": "remember", "arguments": {"text": "Alice works at Acme."}}}  # fmt: skip
    child.stdin.write(json.dumps(remember).encode() + b"\n")
    # ~200 KB of answers, more than a pipe holds, none of them read
    child.stdin.write(b"".join(b'{"jsonrpc":"2.0","id":%d,"method":"ping"}\n' % i
                               for i in range(2, 4000)))  # fmt: skip
    child.stdin.flush()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and child.poll() is None and not _stalled(child):
        time.sleep(0.1)
    child.send_signal(stop)
    assert _exit_code(child) == 128 + stop, child.stderr.read().decode()[-2000:]
    assert _written(tmp_path)[0] == ["Alice works at Acme."]  # closed, nothing lost


def _stalled(child: subprocess.Popen) -> bool:
    """Whether the child is blocked writing to its stdout (Linux: a thread's wchan)."""
    try:
        tasks = list(Path(f"/proc/{child.pid}/task").iterdir())
        return any((task / "wchan").read_text() == "pipe_write" for task in tasks)
    except OSError:
        return False  # not Linux: the loop's 30 s are the wait


def test_mcp_stdio_ends_quietly_when_its_client_stops_reading(tmp_path):
    """A client that went away (its end of stdout closed) made the next answer raise in
    the SDK's writer: the CLI exited 3 and called it a bug. It ends as at end of input."""
    child = _mcp_child(tmp_path)
    child.stdout.close()
    child.stdin.write(b'{"jsonrpc":"2.0","id":1,"method":"ping"}\n')
    child.stdin.flush()  # stdin stays open: the closed pipe alone ends the session
    code = _exit_code(child, timeout=30)
    stderr = child.stderr.read().decode()
    assert code == 0, stderr[-2000:]
    assert "bug" not in stderr
