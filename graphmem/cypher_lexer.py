"""The one Cypher lexer, and the read-only allow-list built on it.

Every place that inspects Cypher text goes through ``tokenize``: the query library (which
parameters a file uses, whether it writes), both graph stores, and the check on users'
own statements (``check_read_only``). One left-to-right pass decides what is a string, a
backticked name, a comment or code, so two inspections can never disagree about where a
string ends: the bypass this module replaced was a comment (``// it's``) that one regex
read as the start of a string while the engine read it as a comment.

The user check is an allow-list. A statement may use only the read clauses and expression
keywords below; any other Cypher keyword (write clauses, ``LOAD``, ``COPY``, ``EXPORT``,
``ATTACH``, ``USE``, ``INSTALL``, transaction control, ``CALL`` of a procedure not listed)
is refused with the word and what is allowed, and so is a bare word in clause position
that the list does not know (``FOO 'x'``). It holds one statement only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .errors import QueryError, ReadOnlyError

# Token kinds.
WORD, NAME, STRING, PARAM, NUMBER, PUNCT, END = (
    "word", "name", "string", "param", "number", "punct", "end"
)  # fmt: skip

# Keywords and expression words a read-only statement may use.
READ_KEYWORDS = frozenset("""
    MATCH OPTIONAL WHERE WITH RETURN DISTINCT UNWIND AS ORDER BY ASC ASCENDING DESC
    DESCENDING SKIP LIMIT UNION ALL AND OR XOR NOT IN IS NULL TRUE FALSE CASE WHEN THEN
    ELSE END STARTS ENDS CONTAINS EXISTS ANY NONE SINGLE SHORTEST TRAIL ACYCLIC WALK CALL
    YIELD COUNT
""".split())  # fmt: skip
# Words that begin a statement a read-only check accepts.
FIRST_KEYWORDS = frozenset({"MATCH", "OPTIONAL", "WITH", "UNWIND", "RETURN", "CALL"})
# Procedures (Kuzu table functions, Neo4j procedures) that only describe the schema.
READ_PROCEDURES = frozenset({
    "show_tables", "table_info", "db.labels", "db.relationshiptypes", "db.propertykeys",
    "db.schema.visualization", "db.schema.nodetypeproperties", "db.schema.reltypeproperties",
})  # fmt: skip
# Keywords of either dialect that change data, schema, files, the database in use or the
# transaction. The allow-list refuses them anyway; naming them lets the message be exact.
REFUSED_KEYWORDS = frozenset("""
    CREATE MERGE SET DELETE DETACH REMOVE DROP ALTER COPY LOAD IMPORT EXPORT INSTALL
    UNINSTALL ATTACH USE CHECKPOINT BEGIN COMMIT ROLLBACK TRANSACTION TRANSACTIONS FOREACH
    GRANT DENY REVOKE RENAME TERMINATE SHOW START STOP DATABASE DATABASES INDEX CONSTRAINT
    PROFILE EXPLAIN MACRO SEQUENCE TABLE GRAPH PROJECT INSERT DBMS EXTENSION CSV FROM TO
    HEADERS FIELDTERMINATOR PERIODIC CYPHER USING FINISH ON
""".split())  # fmt: skip
# Clauses that make a named query a write (engine queries: access mode, preparation).
WRITE_CLAUSES = frozenset(
    {"CREATE", "MERGE", "SET", "DELETE", "DETACH", "REMOVE", "DROP", "COPY", "ALTER", "FOREACH"}
)
_ALLOWED_TEXT = (
    "Cypher inspection allows one read-only statement: MATCH, OPTIONAL MATCH, WHERE, WITH, "
    "RETURN, UNWIND, ORDER BY, SKIP, LIMIT, UNION [ALL], CALL { subquery } and CALL of "
    "show_tables/table_info/db.labels/db.relationshipTypes/db.propertyKeys/db.schema.*"
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str  # as written; for NAME and STRING the raw quoted text
    pos: int

    @property
    def upper(self) -> str:
        return self.text.upper()

    @property
    def word(self) -> str:
        """A WORD as written, a backticked NAME without its quotes (the engine's reading)."""
        return self.text[1:-1].replace("``", "`") if self.kind == NAME else self.text


def _fail(text: str, pos: int, what: str) -> QueryError:
    line = text.count("\n", 0, pos) + 1
    return QueryError(f"cypher: {what} starting at line {line}, character {pos + 1}")


def _quoted_end(text: str, start: int) -> int:
    """Index just past the string or backticked name opening at ``start``."""
    quote, i, n = text[start], start + 1, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\" and quote != "`":
            i += 2  # an escape takes the next character whatever it is, quotes included
            continue
        if ch == quote:
            if quote == "`" and text.startswith("``", i):  # a doubled backtick is a backtick
                i += 2
                continue
            return i + 1
        i += 1
    kind = "backticked name" if quote == "`" else "string"
    raise _fail(text, start, f"unterminated {kind} (no closing {quote})")


def tokenize(text: str) -> list[Token]:
    """Code tokens of ``text`` (comments dropped), ending with an END token.

    Raises ``QueryError`` for an unterminated string, backticked name or block comment.
    """
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif text.startswith("//", i):
            newline = text.find("\n", i)
            i = n if newline < 0 else newline + 1
        elif text.startswith("/*", i):
            close = text.find("*/", i + 2)
            if close < 0:
                raise _fail(text, i, "unterminated comment (no closing */)")
            i = close + 2
        elif ch in "'\"`":
            end = _quoted_end(text, i)
            tokens.append(Token(NAME if ch == "`" else STRING, text[i:end], i))
            i = end
        elif ch == "$":
            j = i + 1
            if j < n and text[j] == "`":
                end = _quoted_end(text, j)
                tokens.append(Token(PARAM, text[j + 1 : end - 1], i))
            else:
                end = j
                while end < n and (text[end].isalnum() or text[end] == "_"):
                    end += 1
                tokens.append(Token(PARAM, text[j:end], i))
            i = end
        elif ch.isdigit() or (
            ch == "."
            and i + 1 < n
            and text[i + 1].isdigit()
            and not (tokens and tokens[-1].kind in (WORD, NAME, PARAM))
        ):
            j = i + 1
            while j < n and (
                text[j].isalnum()
                or text[j] == "_"
                or (text[j] == "." and j + 1 < n and text[j + 1].isdigit())
            ):
                j += 1
            tokens.append(Token(NUMBER, text[i:j], i))
            i = j
        elif ch.isalpha() or ch == "_":
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            tokens.append(Token(WORD, text[i:j], i))
            i = j
        else:
            tokens.append(Token(PUNCT, ch, i))
            i += 1
    tokens.append(Token(END, "", n))
    return tokens


def used_params(text: str) -> set[str]:
    """Names of the ``$parameters`` a statement uses (strings and comments excluded)."""
    return {t.text for t in tokenize(text) if t.kind == PARAM}


def _keywords(tokens: list[Token]) -> Iterator[tuple[int, Token]]:
    """Words in keyword position: not a property (``n.set``), label (``:Merge``) or map key
    (``{set: 1}``), which the engines read as names whatever they spell."""
    for i, tok in enumerate(tokens):
        if tok.kind != WORD:
            continue
        before = tokens[i - 1].text if i and tokens[i - 1].kind == PUNCT else ""
        after = tokens[i + 1].text if tokens[i + 1].kind == PUNCT else ""
        if before in (".", ":") or (after == ":" and before in ("{", ",")):
            continue
        yield i, tok


def clause_words(text: str) -> list[str]:
    """The words in keyword position, upper-cased, in order (``MATCH``, ``WITH``...)."""
    return [t.upper for _, t in _keywords(tokenize(text))]


def writes(text: str) -> bool:
    """Whether a named query changes the graph (the engine's own statements)."""
    return any(t.upper in WRITE_CLAUSES for _, t in _keywords(tokenize(text)))


def union_branches(text: str) -> tuple[list[str], bool]:
    """The statement cut at each top-level ``UNION ALL``, and whether a plain ``UNION``
    is left (Kuzu runs the engine's ``UNION ALL`` queries branch by branch)."""
    tokens = tokenize(text)
    depth, cuts, plain = 0, [], False
    for i, tok in enumerate(tokens):
        if tok.kind == PUNCT and tok.text in "({[":
            depth += 1
        elif tok.kind == PUNCT and tok.text in ")}]":
            depth -= 1
        elif tok.kind == WORD and tok.upper == "UNION":
            if depth == 0 and tokens[i + 1].kind == WORD and tokens[i + 1].upper == "ALL":
                cuts.append((tok.pos, tokens[i + 2].pos))
            else:
                plain = True
    starts = [0] + [after for _, after in cuts]
    ends = [before for before, _ in cuts] + [len(text)]
    return [text[a:b].strip() for a, b in zip(starts, ends, strict=True)], plain


def rows_parameter(text: str) -> tuple[str, str] | None:
    """``("UNWIND", name)`` or ``("LOAD FROM", name)`` for a statement that reads its rows
    from one parameter first, else None."""
    tokens = tokenize(text)
    if tokens[0].upper == "UNWIND" and tokens[1].kind == PARAM:
        return "UNWIND", tokens[1].text
    if tokens[0].upper == "LOAD" and tokens[1].upper == "FROM" and tokens[2].kind == PARAM:
        return "LOAD FROM", tokens[2].text
    return None


def _procedure(tokens: list[Token], i: int) -> str:
    """The dotted name after ``CALL`` at ``i``."""
    parts, j = [], i + 1
    while tokens[j].kind in (WORD, NAME):
        parts.append(tokens[j].word)
        if tokens[j + 1].text != ".":
            break
        j += 2
    return ".".join(parts)


def _refuse(word: str, why: str) -> ReadOnlyError:
    return ReadOnlyError(f"cypher: {word} is refused: {why}. {_ALLOWED_TEXT}.")


def check_read_only(text: str) -> None:
    """Refuse anything but one statement built from the read-only allow-list."""
    tokens = tokenize(text)
    while len(tokens) > 1 and tokens[-2].text == ";" and tokens[-2].kind == PUNCT:
        del tokens[-2]  # trailing semicolons end the one statement
    code = tokens[:-1]
    if not code:
        raise QueryError("cypher: the statement is empty (only comments or ';')")
    for tok in code:
        if tok.kind == PUNCT and tok.text == ";":
            raise _refuse("';'", "one statement per call, and this text holds more")
    unknown: str | None = None
    for i, tok in _keywords(tokens):
        word = tok.upper
        if word == "CALL":
            if tokens[i + 1].text == "{":
                continue  # a subquery: its own clauses pass through this same check
            name = _procedure(tokens, i)
            if name.lower() not in READ_PROCEDURES:
                raise _refuse(
                    f"CALL {name or tokens[i + 1].text}", "only listed procedures may run"
                )
            continue
        if word in READ_KEYWORDS:
            continue
        if word in REFUSED_KEYWORDS:
            raise _refuse(word, "it writes, touches files or other databases, or changes the "
                                "session, and this call is read-only")  # fmt: skip
        nxt = tokens[i + 1]
        # A word the list does not know, directly followed by a value or another unknown
        # word, stands where a clause would (``FOO 'path'``, ``FOO bar``): refused too,
        # after the scan, so that a known keyword further on gets named instead.
        if unknown is None and (nxt.kind in (STRING, NUMBER, PARAM, NAME) or (
            nxt.kind == WORD and nxt.upper not in READ_KEYWORDS
        )):  # fmt: skip
            unknown = tok.text
    first = code[0]
    if first.kind != WORD or first.upper not in FIRST_KEYWORDS:
        raise _refuse(repr(first.text), "a statement must start with a read clause")
    if unknown is not None:
        raise _refuse(unknown, "it is not a clause Cypher inspection knows")
