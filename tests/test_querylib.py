"""The Cypher library: every name the code asks for exists for every backend, no file is
orphaned, headers match bodies, and the files ship with the package (the explorer's
static files with them)."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from graphmem.errors import ConfigError
from graphmem.querylib import DIALECTS, QueryLibrary, all_files, default_root, parse_file
from graphmem.ui import STATIC_DIR

ROOT = Path(__file__).resolve().parents[1]
CALL = re.compile(r"""\.run\(\s*["']([a-z0-9_]+)["']""")
# Query names held in module constants, e.g. ``PROBE = "server_procedures"``.
NAMED = re.compile(r"""^[A-Z_]*(?:PROBE|QUERY)\s*=\s*["']([a-z0-9_]+)["']""", re.MULTILINE)
SCHEMA = re.compile(r"""["'](schema_[a-z0-9_]+)["']""")
LITERAL = re.compile(r"""["']([a-z][a-z0-9_]+)["']""")


def names_in(path: Path) -> set[str]:
    text = path.read_text()
    return set(CALL.findall(text)) | set(SCHEMA.findall(text)) | set(NAMED.findall(text))


# Rooms that sit on the Memory facade and never run a named query; their ``.run("...")``
# calls are other things (the MCP server's transport, for one).
FACADE_ROOMS = {"server", "mcp", "ui"}


def library_users() -> list[Path]:
    return [p for p in (ROOT / "graphmem").rglob("*.py")
            if not FACADE_ROOMS & set(p.relative_to(ROOT / "graphmem").parts[:-1])]  # fmt: skip


def names_used_by_code() -> set[str]:
    return {n for path in library_users() for n in names_in(path)}


def names_needed_by(dialect: str) -> set[str]:
    """Shared code must find its names on every backend; a backend module only on its own."""
    needed: set[str] = set()
    for path in library_users():
        backend = path.stem if path.parent.name == "stores" and path.stem in DIALECTS else None
        if backend in (None, dialect):
            needed |= names_in(path)
    return needed


def test_code_uses_named_queries_at_all():
    assert {"relations_touching", "fact_delete", "entities_by_key"} <= names_used_by_code()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_used_name_resolves_for_every_backend(dialect):
    lib = QueryLibrary(dialect)
    needed = names_needed_by(dialect)
    assert needed, "no query names found: the scan is broken"
    for name in sorted(needed):
        assert lib.get(name).text, f"{name} has no statement for {dialect}"


def test_no_cypher_file_is_orphaned():
    # Names may also be passed around as values (e.g. paged exports): any quoted mention counts.
    used = names_used_by_code() | {
        m for p in (ROOT / "graphmem").rglob("*.py") for m in LITERAL.findall(p.read_text())
    }
    orphans = [str(p) for p in all_files() if p.stem not in used]
    assert orphans == []


def test_every_file_parses_and_names_itself():
    files = all_files()
    assert len(files) >= 30
    for path in files:
        query = parse_file(path)
        assert query.name == path.stem


def test_loader_reports_param_mismatch_with_file_and_line(tmp_path):
    bad = tmp_path / "bad_query.cypher"
    bad.write_text("// name: bad_query\n// params: a\n// returns: x\nMATCH (n {id: $b}) RETURN n\n")
    with pytest.raises(ConfigError, match=r"bad_query\.cypher:2: declared params \['a'\]"):
        parse_file(bad)


def test_dollar_inside_string_literal_is_not_a_parameter(tmp_path):
    ok = tmp_path / "lit.cypher"
    ok.write_text("// name: lit\n// params: -\n// returns: x\nRETURN '$not_a_param' AS x\n")
    assert parse_file(ok).params == ()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_writes_are_told_from_reads(dialect):
    # Backends prepare only reads, and the in-process graph index follows only writes.
    lib = QueryLibrary(dialect)
    assert lib.get("relation_upsert").writes and lib.get("fact_delete").writes
    assert not lib.get("relations_touching").writes and not lib.get("entities_by_key").writes


def test_a_write_word_inside_a_string_is_not_a_write(tmp_path):
    lit = tmp_path / "lit.cypher"
    lit.write_text("// name: lit\n// params: -\n// returns: x\nRETURN 'CREATE (n)' AS x\n")
    assert not parse_file(lit).writes


def test_wheel_ships_every_module_and_the_cypher_and_explorer_files(tmp_path):
    # A subpackage missing from pyproject's list installs fine in editable mode and
    # breaks ``import graphmem`` for everyone who installs the wheel.
    out = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    wheel = next(tmp_path.glob("graphmem-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"graphmem/queries/{p.relative_to(default_root())}" for p in all_files()}
    expected |= {f"graphmem/ui/static/{p.name}" for p in STATIC_DIR.iterdir() if p.is_file()}
    package = ROOT / "graphmem"
    expected |= {
        f"graphmem/{p.relative_to(package)}"
        for p in package.rglob("*.py")
        if "__pycache__" not in p.parts and p.relative_to(package).parts[0] != "queries"
    }
    assert expected <= names, sorted(expected - names)[:5]


def test_installed_package_finds_its_files():
    code = "from graphmem.querylib import QueryLibrary; print(len(QueryLibrary('kuzu').names()))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/")
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) == len(QueryLibrary("kuzu").names()) > 0
