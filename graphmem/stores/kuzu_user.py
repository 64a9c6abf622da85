"""User Cypher on the Kuzu store: ``KuzuGraphStore.cypher`` and what guards it.

A read-only statement runs in a read-only transaction after Kuzu's own planner has read
it (``_vet_plan``: any operator off ``kuzu_plan.READ_OPERATORS`` is refused before it
runs), under the caller's time, row and memory limits, and the connection is checked
afterwards for a database it attached. Engine messages are turned into graphmem errors
that say what to change. The statements go through the store's one connection and lock,
so this is a mixin of ``KuzuGraphStore`` (``stores/kuzu.py``, which alone imports the
driver), kept apart to keep that module to the engine's own statements.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from typing import Any

from ..errors import QueryError, ReadOnlyError, ValidationError
from . import kuzu_lists, kuzu_plan
from .base import Row
from .kuzu_values import check_dates, clean, dated, unhashable
from .memory_watch import MemoryWatch

WRITE_REFUSED = re.compile(r"read-only|read only", re.IGNORECASE)
POOL_FULL = re.compile(r"buffer pool is full", re.IGNORECASE)


class KuzuUserCypher:
    """``cypher()`` for ``KuzuGraphStore``, which provides ``_conn``, ``_lock``, ``_in_tx``,
    ``_packed``, ``tracer``, ``_check_open``, ``_execute`` and ``_rollback``."""

    _conn: Any
    _lock: Any
    _in_tx: bool
    _packed: bool
    tracer: Any

    def cypher(
        self,
        text: str,
        params: Mapping[str, Any] | None = None,
        *,
        read_only: bool = True,
        timeout: float | None = None,
        max_rows: int | None = None,
        max_memory_mb: int | None = None,
    ) -> list[Row]:
        values = dict(params or {})
        with self._lock:
            self._check_open()
            if self._in_tx:
                raise QueryError("user Cypher cannot run inside an engine transaction")
            if read_only:
                self._vet_plan(text, values)
            begin = "BEGIN TRANSACTION READ ONLY" if read_only else "BEGIN TRANSACTION"
            self._execute("begin", begin, {})
            if timeout:
                self._conn.set_query_timeout(max(1, int(timeout * 1000)))
            watch = MemoryWatch(max_memory_mb, self._conn.interrupt)
            try:
                with watch:
                    rows = self._user_rows(text, values, max_rows, again=read_only)
            except BaseException as exc:
                self._rollback()
                if watch.fired:
                    raise _grew(max_memory_mb) from exc
                raise
            else:
                if watch.fired:  # it finished as the interrupt came: refused all the same
                    self._rollback()
                    raise _grew(max_memory_mb)
                self._execute("commit", "COMMIT", {})
            finally:
                if timeout:
                    self._conn.set_query_timeout(0)  # the engine's own statements: no limit
                if read_only:
                    self._detach_strays()
            return rows

    def _vet_plan(self, text: str, params: dict[str, Any]) -> None:
        """The second guard behind the lexical allow-list (``cypher_lexer``): Kuzu's own
        parser and planner read the statement, and a plan with any operator or table
        function off ``kuzu_plan.READ_OPERATORS`` is refused before anything runs.

        Preparing refuses a text of several statements, so the EXPLAIN and the run below
        see the same single statement.
        """
        if self.tracer is not None:
            self.tracer("vet", _EXPLAIN + text, params)
        try:
            with warnings.catch_warnings():  # Kuzu calls prepare() deprecated; it still works
                warnings.simplefilter("ignore", DeprecationWarning)
                prepared = self._conn.prepare(_EXPLAIN + text, params)
            failed = None if prepared.is_success() else prepared.get_error_message()
            result = None if failed else self._conn.execute(prepared, params)
        except RuntimeError as exc:
            raise _user_error(RuntimeError(_unexplained(str(exc)))) from exc
        except (ValueError, TypeError) as exc:
            raise param_error("user", exc) from exc
        if failed:
            raise _user_error(RuntimeError(_unexplained(failed)))
        plan = "\n".join(str(r[0]) for r in result.get_all())
        refused = kuzu_plan.refused_operators(plan)
        if refused:
            raise ReadOnlyError(
                f"cypher: refused by the engine's plan: {', '.join(refused)} would read or "
                "write files, attach or switch databases, or change data; inspection only reads",
                query_name="user",
            )

    def _user_rows(self, text: str, params: dict[str, Any], max_rows: int | None,
                   again: bool = True) -> list[Row]:  # fmt: skip
        """The statement's rows. ``again``: it may run a second time (it only reads), as a
        result holding dates is read twice (``kuzu_values.py``)."""
        if self.tracer is not None:
            self.tracer("user", text, params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            try:
                # Prepared, so a text the engine reads as several statements is refused
                # here too, whatever the checks before made of it.
                # The values go to prepare too: Kuzu 0.11.3 segfaulted preparing a UNION
                # ALL over relationships whose parameters it had to guess the types of.
                prepared = self._conn.prepare(text, params)
                failed = None if prepared.is_success() else prepared.get_error_message()
                result = None if failed else self._conn.execute(prepared, params)
            except RuntimeError as exc:
                raise _user_error(exc) from exc
            except (ValueError, TypeError) as exc:
                raise param_error("user", exc) from exc
        if failed:
            raise _user_error(RuntimeError(failed))
        results = result if isinstance(result, list) else [result]
        rows: list[Row] = []
        listed = self._packed and kuzu_lists.FIELD in text  # text that may hold a packed list
        try:
            checked = [(res, dated(res)) for res in results]
            if any(columns for _, columns in checked):  # else a date past 9999 crashes us
                for res, columns in checked:
                    if columns:
                        check_dates(res, columns, max_rows)
                if not again:  # a write must not run twice; the caller rolls it back
                    raise QueryError(
                        "cypher: a write that returns DATE or TIMESTAMP values is not run; "
                        "return them as text with string(...)", query_name="user")  # fmt: skip
                result = self._conn.execute(prepared, params)  # read again, now known safe
                results = result if isinstance(result, list) else [result]
            for res in results:
                columns = res.get_column_names()
                while res.has_next():
                    if max_rows is not None and len(rows) >= max_rows:
                        raise QueryError(
                            f"cypher: the statement returns more than {max_rows} rows (the "
                            "cypher_max_rows setting); add LIMIT or narrow the MATCH",
                            query_name="user",
                        )
                    rows.append(dict(zip(columns, [clean(v) for v in res.get_next()],
                                         strict=True)))  # fmt: skip
                    if listed:
                        rows[-1] = {k: kuzu_lists.unpack_listlike(v) for k, v in rows[-1].items()}
        except RuntimeError as exc:
            raise _user_error(exc) from exc
        except TypeError as exc:
            raise unhashable(exc) from exc
        return rows

    def _detach_strays(self) -> None:
        """Last guard: whatever got through, the engine's connection must still point at
        this database, or every later write fails (``ATTACH`` repoints it)."""
        strays = self._conn.execute("CALL show_attached_databases() RETURN name").get_all()
        for (name,) in strays:
            self._conn.execute(f"DETACH `{name.replace('`', '``')}`")
        if strays:
            raise ReadOnlyError(
                "cypher: refused, the statement attached another database; it was detached",
                query_name="user",
            )


def param_error(name: str, exc: Exception) -> ValidationError:
    # The driver converts parameter values itself and fails with a plain ValueError on,
    # e.g., a list of mixed types ([0, ""]): the caller's input, not an engine failure.
    return ValidationError(
        "params",
        f"{name}: Kuzu cannot take these parameter values ({exc}); "
        "a list must hold values of one type",
    )


_EXPLAIN = "EXPLAIN "
_UNUSED = re.compile(r"Parameter (\S+) not found")


def _unexplained(message: str) -> str:
    """An engine message about ``EXPLAIN <statement>`` (``_vet_plan``) as one about the
    statement the user wrote: the quote without the prefix, line 1's offset and caret
    moved back by its length."""
    quoted = f'"{_EXPLAIN}'
    if quoted not in message:
        return message
    first_line = "(line: 1," in message
    message = message.replace(quoted, '"', 1)
    if not first_line:
        return message
    message = re.sub(r"\(line: 1, offset: (\d+)\)",
                     lambda m: f"(line: 1, offset: {max(0, int(m[1]) - len(_EXPLAIN))})",
                     message)  # fmt: skip
    lines = message.split("\n")
    for i, line in enumerate(lines):
        if line.strip() and set(line.strip()) == {"^"} and line.startswith(" " * len(_EXPLAIN)):
            lines[i] = line[len(_EXPLAIN) :]
    return "\n".join(lines)


def _grew(max_memory_mb: int | None) -> QueryError:
    return QueryError(
        f"cypher: the statement grew this process by more than {max_memory_mb} MB (the "
        "cypher_max_memory_mb setting) and was stopped; return fewer or smaller values "
        "(LIMIT, no collect() of everything), or pass a scope to run it on the scope's copy",
        query_name="user",
    )


def _user_error(exc: RuntimeError) -> QueryError | ValidationError:
    message = str(exc)
    unused = _UNUSED.search(message)
    if unused:
        return ValidationError(f"params.{unused[1]}", f"is given, but the statement has no "
                               f"${unused[1]}; leave it out of params or use it")  # fmt: skip
    if "vector with ANY type" in message:
        return ValidationError("params", "a list that is empty or holds only nulls ([], "
                               "[None]) has no element type where the statement uses it (Kuzu "
                               "types a list by its values); pass at least one non-null value, "
                               "or leave the clause out when there is none")  # fmt: skip
    if message.strip().rstrip(".") == "Interrupted":
        return QueryError(
            "cypher: the statement ran past the time limit (the cypher_timeout setting) and "
            "was stopped; add LIMIT, anchor the MATCH on a property, or avoid a cartesian "
            "product of unconnected patterns",
            query_name="user",
        )
    if WRITE_REFUSED.search(message):
        return ReadOnlyError(f"user: refused, the statement writes ({message})", query_name="user")
    if POOL_FULL.search(message):
        # A variable-length pattern over a graph with cycles, unbounded in practice:
        # "(a)-[*1..30]-(b)" on eight entities filled a 1 GB page cache in 2 s.
        return QueryError(
            "cypher: the statement needed more than the graph's page cache holds (the "
            "graph_buffer_pool_mb setting) and was stopped; bound variable-length patterns "
            "(such as *1..3), anchor the MATCH on a property, add LIMIT, or pass a scope to "
            "run it on the scope's copy. A read-only statement changed nothing; after a "
            f"write, run `graphmem doctor` ({message})",
            query_name="user",
        )
    return QueryError(f"user: {message}", query_name="user")
