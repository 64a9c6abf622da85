"""The Cypher library: every statement graphmem runs, one named query per ``.cypher`` file.

Files live in the repository's ``cypher/`` folder (installed as ``graphmem.queries``)::

    // name: entity_by_key
    // params: keys, user_id, agent_id, run_id
    // returns: one row per matching entity
    MATCH (e:Entity) ...

Portable openCypher sits at the top; ``cypher/<dialect>/NAME.cypher`` overrides it for one
backend. The loader refuses a file whose declared parameters differ from the ``$names``
its body uses, and reports ``file:line``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from . import cypher_lexer
from .cypher_lexer import used_params
from .errors import ConfigError, QueryError

DIALECTS = ("kuzu", "neo4j")
__all__ = ["DIALECTS", "Query", "QueryLibrary", "all_files", "parse_file", "used_params"]


@dataclass(frozen=True)
class Query:
    name: str
    text: str
    params: tuple[str, ...]
    returns: str
    path: str
    # Read once here, not per call: backends prepare only reads, and the in-process graph
    # index follows only the writes it knows (stores/kuzu.py, stores/graph_index.py).
    writes: bool = field(init=False)
    # ("UNWIND" | "LOAD FROM", parameter) when the statement reads its rows from one.
    rows: tuple[str, str] | None = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "writes", cypher_lexer.writes(self.text))
        object.__setattr__(self, "rows", cypher_lexer.rows_parameter(self.text))

    def bind(self, params: dict | None) -> dict:
        """Keep the declared parameters; a declared one that is missing is an error."""
        given = params or {}
        missing = [p for p in self.params if p not in given]
        if missing:
            raise QueryError(f"{self.path}: missing parameter(s) {missing}", query_name=self.name)
        return {p: given[p] for p in self.params}


def parse_file(path: Path) -> Query:
    header: dict[str, tuple[str, int]] = {}
    body: list[str] = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        m = re.match(r"\s*//\s*(name|params|returns):\s*(.*)$", line)
        if m and not body:
            header[m.group(1)] = (m.group(2).strip(), lineno)
        elif line.strip() and not line.strip().startswith("//"):
            body.append(line)
    if "name" not in header:
        raise ConfigError(f"{path}:1: missing '// name:' header")
    name, line_no = header["name"]
    if name != path.stem:
        raise ConfigError(f"{path}:{line_no}: name {name!r} differs from file name {path.stem!r}")
    declared_text, params_line = header.get("params", ("", 1))
    declared = tuple(p.strip() for p in declared_text.split(",") if p.strip() and p.strip() != "-")
    text = "\n".join(body).strip()
    if not text:
        raise ConfigError(f"{path}:1: no statement after the header")
    try:
        used = used_params(text)
    except QueryError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    if set(declared) != used:
        raise ConfigError(
            f"{path}:{params_line}: declared params {sorted(declared)} but the statement uses "
            f"{sorted(used)}"
        )
    return Query(name, text, declared, header.get("returns", ("", 0))[0], str(path))


def default_root() -> Path:
    return Path(str(resources.files("graphmem.queries")))


class QueryLibrary:
    """All named queries, resolved for one dialect (most specific file first)."""

    def __init__(self, dialect: str, root: Path | None = None) -> None:
        self.root = root or default_root()
        self.dialect = dialect
        self._queries: dict[str, Query] = {}
        for path in sorted(self.root.glob("*.cypher")):
            q = parse_file(path)
            self._queries[q.name] = q
        override_dir = self.root / dialect
        if override_dir.is_dir():
            for path in sorted(override_dir.glob("*.cypher")):
                q = parse_file(path)
                self._queries[q.name] = q

    def get(self, name: str) -> Query:
        try:
            return self._queries[name]
        except KeyError:
            raise QueryError(
                f"no query named {name!r} for dialect {self.dialect!r} under {self.root}",
                query_name=name,
            ) from None

    def names(self) -> list[str]:
        return sorted(self._queries)


def all_files(root: Path | None = None) -> list[Path]:
    root = root or default_root()
    return sorted(root.glob("*.cypher")) + sorted(root.glob("*/*.cypher"))
