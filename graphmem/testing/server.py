"""``graphmem serve`` in a child process on 127.0.0.1 (or ``extra_args=("--host", ...)``),
for tests and benchmarks.

    with ServedMemory(tmp_path, embedder="hash") as served:
        key, _ = served.keys.create(user_id="alice")
        with Client(served.url, key) as m: ...

The server binds port 0 and the port is read from uvicorn's start-up line, so parallel
runs never collide. Everything the child writes to stdout and stderr is kept in
``output()`` (tests check it never contains a key).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from ..errors import BackendUnavailableError
from ..server.keys import KeyStore

_MAIN = "import sys; from graphmem.cli import main; sys.exit(main(sys.argv[1:]))"
_STARTED = re.compile(r"Uvicorn running on http://(\S+):(\d+)")
_ANY = ("0.0.0.0", "[::]")  # bound to every interface: reached here on the loopback one


class ServedMemory:
    def __init__(
        self,
        data_dir: str | Path,
        *,
        embedder: str = "hash",
        extra_args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
        start_timeout: float = 120.0,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.keys = KeyStore.in_data_dir(self.data_dir)
        self._lines: list[str] = []
        self._done = False
        self._seen = threading.Condition()
        self.url = ""
        command = [sys.executable, "-c", _MAIN, "serve", "--host", "127.0.0.1",
                   "--port", "0", "--data-dir", str(self.data_dir), "--embedder", embedder,
                   *extra_args]  # fmt: skip
        child_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=child_env
        )
        threading.Thread(target=self._pump, daemon=True).start()
        deadline = time.monotonic() + start_timeout
        with self._seen:
            while not self.url:
                if self.process.poll() is not None and self._done:
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._seen.wait(min(left, 0.5))
        if not self.url:
            self.stop()
            raise BackendUnavailableError("graphmem serve did not start:\n" + self.output())

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._seen:
                self._lines.append(line)
                found = _STARTED.search(line)
                if found and not self.url:
                    host = "127.0.0.1" if found[1] in _ANY else found[1]
                    self.url = f"http://{host}:{found[2]}"
                self._seen.notify_all()
        with self._seen:
            self._done = True
            self._seen.notify_all()

    def output(self) -> str:
        with self._seen:
            return "".join(self._lines)

    def stop(self) -> str:
        """Stop the server (SIGTERM, then SIGKILL) and return all it printed."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.keys.close()
        return self.output()

    def __enter__(self) -> ServedMemory:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
