"""A data dir that cannot hold the stores: a file, unwritable, read-only, nearly full, or a
damaged graph file. Each is a StorageError naming the path, raised before any engine sees it.

The cases where the engine itself would kill the process (SIGBUS on a full disk, SIGSEGV or
a hang on a damaged file) run ``Memory.open`` in a child process, so that on code without
the checks the test fails instead of taking pytest down with it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from contextlib import contextmanager
from pathlib import Path

import pytest

from graphmem import GraphMemError, Memory

ROOT = Path(__file__).resolve().parents[2]


def run_open(data_dir: Path, *, before: str = "", **settings) -> subprocess.CompletedProcess:
    """``Memory.open(data_dir)`` in a child process; prints the error class and message.
    ``before`` runs after graphmem is imported (e.g. dropping root)."""
    script = textwrap.dedent(f"""
        import sys
        from graphmem import Memory, GraphMemError
        {before}
        try:
            Memory.open(sys.argv[1], embedder="hash", **{settings!r}).close()
            print("OPENED")
        except GraphMemError as exc:
            print(type(exc).__name__, exc)
    """)
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.run([sys.executable, "-c", script, str(data_dir)], capture_output=True,
                          text=True, timeout=240, env=env, check=False)  # fmt: skip


@contextmanager
def storage_error(match: str):
    """Like ``pytest.raises(StorageError, match=...)``, by name: the class is new, and this
    file must still collect (and fail test by test) on code that lacks it."""
    with pytest.raises(GraphMemError, match=match) as info:
        yield info
    assert type(info.value).__name__ == "StorageError"


def mount_tmpfs(where: Path, size: str, *extra: str) -> None:
    where.mkdir(parents=True, exist_ok=True)
    options = ",".join([f"size={size}", *extra])
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}); needs root in a "
                    "container that allows mounts")  # fmt: skip


@pytest.fixture
def mounted(tmp_path):
    points: list[Path] = []
    yield points
    for point in points:
        subprocess.run(["umount", str(point)], check=False)


# --- 4. a data dir that is a file, not writable, or on a read-only filesystem ------------


def test_a_data_dir_that_is_a_file_is_a_storage_error_naming_it(tmp_path):
    target = tmp_path / "memory-data"
    target.write_text("not a directory")
    with storage_error("is a file, not a directory") as info:
        Memory.open(target, embedder="hash")
    assert str(target) in str(info.value)
    assert target.read_text() == "not a directory"


def test_a_data_dir_below_a_file_is_a_storage_error(tmp_path):
    (tmp_path / "plain").write_text("x")
    with storage_error("is a file"):
        Memory.open(tmp_path / "plain" / "data", embedder="hash")


def test_a_data_dir_on_a_read_only_filesystem_is_a_storage_error(tmp_path, mounted):
    point = tmp_path / "ro"
    mount_tmpfs(point, "64m", "ro")
    mounted.append(point)
    with storage_error("read-only filesystem") as info:
        Memory.open(point / "data", embedder="hash", min_free_disk_mb=0)
    assert str(point / "data") in str(info.value)
    with storage_error("read-only filesystem"):
        Memory.open(point, embedder="hash", min_free_disk_mb=0)  # existing, unwritable


def test_a_data_dir_without_write_permission_is_a_storage_error(tmp_path):
    """Root ignores permission bits, so the open runs as an unprivileged user when the test
    runs as root (the probe must really write, not ask os.access)."""
    base = Path(tempfile.mkdtemp(prefix="graphmem-perm-"))
    try:
        data = base / "data"
        data.mkdir()
        os.chmod(base, 0o755)
        os.chmod(data, 0o555)
        before = ""
        if os.geteuid() == 0:  # graphmem is imported first: nobody cannot read /root
            before = "import os; os.setgid(65534); os.setuid(65534)"
        done = run_open(data, before=before)
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.startswith("StorageError"), done.stdout + done.stderr[-2000:]
        assert "permission denied" in done.stdout and str(data) in done.stdout
        assert sorted(os.listdir(data)) == []
    finally:
        shutil.rmtree(base, ignore_errors=True)


# --- 5. a nearly full disk ----------------------------------------------------------------


def test_a_nearly_full_disk_is_a_storage_error_not_a_sigbus(tmp_path, mounted):
    point = tmp_path / "small"
    mount_tmpfs(point, "16m")  # Qdrant Edge alone maps ~19 MB for a new data dir
    mounted.append(point)
    done = run_open(point / "data")
    assert done.returncode == 0, f"the child died with {done.returncode}: {done.stderr[-2000:]}"
    assert done.stdout.startswith("StorageError"), done.stdout
    assert "MB free" in done.stdout and "min_free_disk_mb" in done.stdout
    assert not (point / "data").exists()  # refused before writing anything


FILL_THEN_WRITE = """
import os, sys
from graphmem import Memory, GraphMemError
data, filler = sys.argv[1], sys.argv[2]
with Memory.open(data, embedder="hash", min_free_disk_mb=8) as m:
    m.add("Alice likes tea.", user_id="u", infer=False)
    with open(filler, "wb") as out:  # the disk fills up after the open, as it does in service
        try:
            while True:
                out.write(b"x" * 1048576)
                out.flush()
        except OSError:
            pass
    try:
        m.add("Bob lives in Paris.", user_id="u", infer=False)
        print("WROTE")
    except GraphMemError as exc:
        print(type(exc).__name__, exc)
    print("HELD", sorted(f.text for f in m.get_all(user_id="u")), m.verify().ok)
    os.remove(filler)
    m.add("Bob lives in Paris.", user_id="u", infer=False)
    print("AFTER", sorted(f.text for f in m.get_all(user_id="u")))
"""


def test_a_disk_that_fills_after_open_refuses_the_next_write_not_a_sigbus(tmp_path, mounted):
    """Checked only at open, a disk that filled later met the next write inside Qdrant
    Edge's mapped files: SIGBUS, the process gone (a server with it)."""
    point = tmp_path / "small"
    mount_tmpfs(point, "96m")
    mounted.append(point)
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    done = subprocess.run([sys.executable, "-c", FILL_THEN_WRITE, str(point / "data"),
                           str(point / "filler")], capture_output=True, text=True, timeout=300,
                          env=env)  # fmt: skip
    assert done.returncode == 0, f"the child died with {done.returncode}: {done.stderr[-2000:]}"
    lines = done.stdout.splitlines()
    assert lines[0].startswith("StorageError") and "min_free_disk_mb" in lines[0], done.stdout
    assert "to write safely" in lines[0]
    assert lines[1] == "HELD ['Alice likes tea.'] True", done.stdout
    assert lines[2] == "AFTER ['Alice likes tea.', 'Bob lives in Paris.']", done.stdout


def test_the_free_space_threshold_is_a_setting(tmp_path):
    free_mb = shutil.disk_usage(tmp_path).free // (1024 * 1024)
    with storage_error(r"MB free") as info:
        Memory.open(tmp_path / "data", embedder="hash", min_free_disk_mb=free_mb + 1024)
    assert str(tmp_path / "data") in str(info.value)
    assert not (tmp_path / "data").exists()
    Memory.open(tmp_path / "data", embedder="hash", min_free_disk_mb=1).close()


# --- 6. a graph file with scribbled bytes ---------------------------------------------------

CRASH_CHECK = """
import sys, kuzu
kuzu.Database(sys.argv[1])
"""


def _graph_file(tmp_path: Path) -> Path:
    with Memory.open(tmp_path / "data", embedder="hash") as m:
        m.add("Alice likes tea. Bob lives in Paris.", user_id="u")
    return tmp_path / "data" / "graph" / "graph.kuzu"


def _scribble(file: Path, offset: int, data: bytes) -> None:
    with file.open("r+b") as handle:
        handle.seek(offset)
        handle.write(data)


def test_a_graph_file_with_a_scribbled_header_is_a_storage_error(tmp_path):
    file = _graph_file(tmp_path)
    _scribble(file, 0, b"\x00" * 64)
    with storage_error("damaged") as info:
        Memory.open(tmp_path / "data", embedder="hash")
    assert str(file) in str(info.value) and "graphmem doctor --repair" in str(info.value)


def test_a_graph_file_that_crashes_the_engine_is_a_storage_error_not_a_segfault(tmp_path):
    file = _graph_file(tmp_path)
    pristine = file.read_bytes()
    for offset in (65536, 100000, 131072):  # pages that crashed Kuzu 0.11.3 on open
        file.write_bytes(pristine)
        _scribble(file, offset, bytes(range(256)) * 16)
        crash = subprocess.run([sys.executable, "-c", CRASH_CHECK, str(file)],
                               capture_output=True, timeout=120, check=False)  # fmt: skip
        if crash.returncode < 0:
            break
    else:
        pytest.skip("no scribble made this Kuzu build crash on open")
    done = run_open(tmp_path / "data")
    assert done.returncode == 0, f"the child died with {done.returncode}: {done.stderr[-2000:]}"
    assert done.stdout.startswith("StorageError"), done.stdout
    assert "damaged" in done.stdout and "graphmem doctor" in done.stdout


def test_a_cleanly_closed_graph_is_marked_and_reopens_with_its_data(tmp_path):
    _graph_file(tmp_path)
    assert (tmp_path / "data" / "graph" / ".graphmem-clean").exists()
    with Memory.open(tmp_path / "data", embedder="hash") as m:
        assert m.stats(user_id="u")["facts"] == 2
        # While open the marker is gone: a crash now means a probe on the next open.
        assert not (tmp_path / "data" / "graph" / ".graphmem-clean").exists()


def test_a_graph_file_that_hangs_the_engine_is_a_storage_error_not_a_hang(tmp_path):
    file = _graph_file(tmp_path)
    _scribble(file, 65536, b"\x00" * 4096)  # zeroed pages made Kuzu 0.11.3 spin on open
    try:
        subprocess.run([sys.executable, "-c", CRASH_CHECK, str(file)], capture_output=True,
                       timeout=8, check=False)  # fmt: skip
        pytest.skip("this Kuzu build does not hang on the zeroed page")
    except subprocess.TimeoutExpired:
        pass
    shorter = "import graphmem.stores.kuzu_file as k; k.PROBE_TIMEOUT_S = 5"
    done = run_open(tmp_path / "data", before=shorter)
    assert done.returncode == 0, f"the child died with {done.returncode}: {done.stderr[-2000:]}"
    assert done.stdout.startswith("StorageError"), done.stdout
    assert "did not finish within 5 s" in done.stdout


def test_the_damaged_graph_message_leads_to_a_repair_that_brings_the_memories_back(tmp_path):
    file = _graph_file(tmp_path)
    with Memory.open(tmp_path / "data", embedder="hash") as m:
        texts = sorted(f.text for f in m.get_all(user_id="u"))
    _scribble(file, 0, b"\x00" * 64)
    with storage_error("graphmem doctor --repair"):
        Memory.open(tmp_path / "data", embedder="hash")
    # What the message says: move the file aside, then repair.
    file.rename(tmp_path / "damaged.kuzu")
    with Memory.open(tmp_path / "data", embedder="hash", check_stores=False) as m:
        assert m.verify(repair=True).repaired
    with Memory.open(tmp_path / "data", embedder="hash") as m:
        assert sorted(f.text for f in m.get_all(user_id="u")) == texts
        assert m.stats(user_id="u")["facts"] == len(texts)
