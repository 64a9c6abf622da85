"""Ctrl-C in the middle of a write: it ends whole or undone, never half (``interrupts.py``).

The signal is sent to a real ``graphmem add --file`` while its batch is being committed:
the graph's commit is slowed (a big batch on a slow disk) so the moment can be hit every
time, and SIGINT arrives while the main thread waits for it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from graphmem import Memory

SLOW_COMMIT_THEN_SIGINT = textwrap.dedent("""
    import os, signal, sys, threading, time
    from graphmem.stores import kuzu
    real = kuzu.KuzuGraphStore._execute
    fired = []
    def slow(self, name, *args, **kwargs):
        if name == "commit" and threading.current_thread().name == "graphmem-graph-write" \\
                and not fired:
            fired.append(1)
            threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()  # Ctrl-C
            time.sleep(1.5)
        return real(self, name, *args, **kwargs)
    kuzu.KuzuGraphStore._execute = slow
    from graphmem.cli import main
    sys.exit(main(sys.argv[1:]))
""")


def test_ctrl_c_while_a_batch_commits_leaves_the_stores_agreeing(tmp_path):
    lines = tmp_path / "lines.txt"
    lines.write_text("".join(f"Person{i} works at Company{i % 50}.\n" for i in range(1500)))
    data = tmp_path / "data"
    env = {**os.environ, "GRAPHMEM_EMBEDDER": "hash", "GRAPHMEM_EXTRACTOR": "offline"}
    done = subprocess.run(
        [sys.executable, "-c", SLOW_COMMIT_THEN_SIGINT, "add", "--file", str(lines),
         "--user", "alice", "--data-dir", str(data), "--batch-size", "500"],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert done.returncode == 130, done.stderr[-2000:]  # stopped by the Ctrl-C
    with Memory.open(data, embedder="hash") as m:  # opens: no store disagrees
        assert m.verify().ok
        texts = {f.text for f in m.get_all(user_id="alice", limit=2000)}
        history = {
            e.new_value
            for e in m.history_store.events(limit=10_000)
            if e.event == "ADD" and e.target_kind == "memory"
        }
        assert len(texts) == 500 and history == texts  # the batch in flight, whole


def _ctrl_c() -> None:
    os.kill(os.getpid(), signal.SIGINT)
    for _ in range(1000):  # the handler runs between two bytecodes of this thread
        time.sleep(0.001)


def test_one_ctrl_c_inside_a_write_is_raised_when_the_write_ends_and_two_at_once():
    from graphmem.interrupts import held_back

    done = []
    with pytest.raises(KeyboardInterrupt), held_back():
        _ctrl_c()
        done.append("the write went on")
    assert done == ["the write went on"]
    with pytest.raises(KeyboardInterrupt), held_back():
        _ctrl_c()
        _ctrl_c()  # the user insists: out now
        done.append("never")
    assert done == ["the write went on"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back
