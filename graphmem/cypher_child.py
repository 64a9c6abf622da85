"""Scoped user Cypher in a process of its own, so one statement cannot take the caller's
memory.

Why: Kuzu builds a function's value whole before the time limit can stop it, and
outside its buffer pool. ``UNWIND range(1, 100000000) AS x RETURN count(x)`` took 24 GB
in under a second on this 24 GB machine, and the kernel killed the process: over REST or
MCP, any key could take the server down with one read-only request (measured; 1M
elements took 0.9 GB). No limit Kuzu offers bounds it (``graph_buffer_pool_mb`` does not).

So the scope's copy (its rows from ``GraphOps.export``: the statement never sees other
scopes) is loaded and queried in a child, ``python -m graphmem.cypher_child``: the
statement and the rows in on stdin, the answer or the error out on stdout, both pickled
(the child is this module, not the user). The parent reads the child's resident memory
(``/proc``: Linux) and stops it past ``cypher_max_memory_mb`` above what the loaded copy
took; the child also asks the kernel to pick it first when memory runs out, so even a
burst too fast to watch ends the child, not the caller. A child costs ~0.8 s to start;
scoped Cypher is an inspection tool (its copy already costs ~4 s per 10k memories).

Where no child can be started (no Python executable to run), the statement runs in
process as before, with a warning in the log.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .errors import GraphMemError, QueryError, ReadOnlyError, ValidationError
from .models import GraphBatch

log = logging.getLogger(__name__)

_POLL_S = 0.01
_LOAD_LIMIT_S = 600.0  # loading the scope's copy; the statement has its own limit
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
# Children at once per process: statements sent side by side wait their turn rather than
# each take up to ``cypher_max_memory_mb``.
_SLOTS = threading.BoundedSemaphore(2)


def run_scoped(batch: GraphBatch, statement: str, values: dict[str, Any], *, timeout: float,
               max_rows: int, max_memory_mb: int, tracer=None) -> list[dict[str, Any]]:  # fmt: skip
    """``statement`` on an in-memory graph holding ``batch``, in a child process."""
    try:
        request = pickle.dumps((batch, statement, values, timeout, max_rows))
    except (pickle.PicklingError, TypeError, AttributeError, RecursionError):
        raise _unsendable(values) from None
    with _SLOTS:
        try:
            child = subprocess.Popen([sys.executable, "-m", "graphmem.cypher_child"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=_child_env())  # fmt: skip
        except OSError as exc:
            log.warning("graphmem: scoped Cypher runs in process (no child process: %s)", exc)
            return _on_copy(batch, statement, values, timeout, max_rows, tracer=tracer)
        return _Watch(child, max_memory_mb, timeout).result(request)


class _Watch:
    """Feeds the child, reads its answer, and stops it past its memory or time."""

    def __init__(self, child: subprocess.Popen, max_memory_mb: int, timeout: float) -> None:
        self.child, self.max_bytes, self.timeout = child, max_memory_mb * 2**20, timeout
        self.out: list[bytes] = []
        self.errors: list[bytes] = []
        self.loaded = threading.Event()
        self.base = 0  # the child's resident bytes once the scope's copy is loaded

    def result(self, request: bytes) -> list[dict[str, Any]]:
        child = self.child
        threads = [threading.Thread(target=self._feed, args=(request,), daemon=True),
                   threading.Thread(target=self._read, daemon=True),
                   threading.Thread(target=self._drain, daemon=True)]  # fmt: skip
        for thread in threads:
            thread.start()
        stopped = ""
        try:
            stopped = self._watch()
        finally:
            if child.poll() is None:
                child.kill()
            child.wait()
            for thread in threads:
                thread.join()
            for stream in (child.stdin, child.stdout, child.stderr):
                if stream is not None and not stream.closed:
                    stream.close()
        if stopped:
            raise QueryError(stopped)
        return _answer(b"".join(self.out), child.returncode, b"".join(self.errors))

    def _watch(self) -> str:
        """Waits for the child; the reason it was stopped, or "" when it ended itself."""
        child = self.child
        began, loaded_at = time.monotonic(), 0.0
        while child.poll() is None:
            now = time.monotonic()
            if not self.loaded.is_set():
                if now - began > _LOAD_LIMIT_S:
                    child.kill()
                    return f"cypher: loading the scope's graph took over {_LOAD_LIMIT_S:.0f} s"
            elif _resident(child.pid) - self.base > self.max_bytes:
                child.kill()
                return (f"cypher: the statement needed more than {self.max_bytes >> 20:,} MB "
                        "of memory (the cypher_max_memory_mb setting) and was stopped; narrow "
                        "it: a smaller range() or UNWIND list, a LIMIT, fewer paths")  # fmt: skip
            elif now - (loaded_at := loaded_at or now) > self.timeout + 5.0:
                child.kill()  # Kuzu's own limit did not fire
                return ("cypher: the statement ran past the time limit (the cypher_timeout "
                        "setting) and was stopped; add LIMIT or narrow the MATCH")  # fmt: skip
            time.sleep(_POLL_S)
        return ""

    def _feed(self, request: bytes) -> None:
        try:
            self.child.stdin.write(request)
            self.child.stdin.close()
        except (BrokenPipeError, OSError):
            pass  # the child ended early; its exit status says why

    def _read(self) -> None:
        stream = self.child.stdout
        head = stream.read(9)
        if len(head) == 9 and head[:1] == b"L":  # loaded, and its resident bytes then
            self.base = int.from_bytes(head[1:], "little")
            self.loaded.set()
        while chunk := stream.read(1 << 16):
            self.out.append(chunk)

    def _drain(self) -> None:
        stream = self.child.stderr
        while chunk := stream.read(1 << 16):
            self.errors.append(chunk)


def _unsendable(values: dict[str, Any]) -> QueryError:
    """The error for a parameter pickle refuses, named as Kuzu names one in process."""
    for name, value in values.items():
        try:
            pickle.dumps(value)
        except (pickle.PicklingError, TypeError, AttributeError, RecursionError):
            return QueryError(
                f"cypher: parameter ${name} is a {type(value).__name__}, which the engine "
                "cannot take; pass strings, numbers, booleans, lists, maps or dates"
            )  # fmt: skip
    return QueryError("cypher: the statement's parameters cannot be sent to the engine")


def _answer(data: bytes, code: int, errors: bytes) -> list[dict[str, Any]]:
    try:
        kind, *rest = pickle.loads(data)
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError):
        killed = code == -getattr(signal, "SIGKILL", 9)  # by the kernel, out of memory
        raise QueryError(
            "cypher: the statement's process ended "
            + ("when the system ran out of memory" if killed else
               f"with status {code}: {errors.decode(errors='replace')[-500:].strip()}")
            + "; narrow the statement (a smaller range() or UNWIND list, a LIMIT)"
        ) from None  # fmt: skip
    if kind == "rows":
        return rest[0]
    name, message, field = rest
    if field is not None:  # a parameter the engine cannot take, named as in process
        raise ValidationError(field, message.removeprefix(f"{field}: "))
    raise (ReadOnlyError if name == "ReadOnlyError" else QueryError)(message)


def _resident(pid: int) -> int:
    """Resident bytes of ``pid`` (Linux); 0 where ``/proc`` cannot say."""
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


def _child_env() -> dict[str, str]:
    """The child imports this graphmem, wherever it was imported from."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def _on_copy(batch, statement, values, timeout, max_rows, *, tracer=None,
             loaded=lambda: None) -> list[dict[str, Any]]:  # fmt: skip
    """``statement`` on a fresh in-memory Kuzu graph holding ``batch``; ``loaded`` is
    called once the rows are in, before the statement runs."""
    from .stores.kuzu import KuzuGraphStore

    sandbox = KuzuGraphStore(None, tracer=tracer)
    try:
        sandbox.load(batch)
        loaded()
        return sandbox.cypher(statement, values, read_only=True, timeout=timeout,
                              max_rows=max_rows)  # fmt: skip
    finally:
        sandbox.close()


def _main() -> None:
    try:  # the kernel's first choice when memory runs out: this process, not its parent
        Path("/proc/self/oom_score_adj").write_text("1000")
    except OSError:
        pass
    batch, statement, values, timeout, max_rows = pickle.loads(sys.stdin.buffer.read())
    # The answer gets a descriptor of its own: anything the engine prints goes to stderr.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)

    def loaded() -> None:
        out.write(b"L" + _resident(os.getpid()).to_bytes(8, "little"))
        out.flush()

    try:
        answer: tuple = ("rows", _on_copy(batch, statement, values, timeout, max_rows,
                                          loaded=loaded))  # fmt: skip
    except GraphMemError as exc:
        answer = ("error", type(exc).__name__, str(exc), getattr(exc, "field", None))
    out.write(pickle.dumps(answer))
    out.flush()


if __name__ == "__main__":
    _main()
