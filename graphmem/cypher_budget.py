"""How big a value an unscoped Cypher statement may build out of a few literals.

``range``, ``repeat``, ``lpad`` and ``rpad`` make a list or a string of any size from a
handful of characters. Where every argument is a constant, Kuzu 0.11.3 computes the call
while it plans the statement, on the heap rather than in its buffer pool, before the time
limit or an interrupt applies: ``RETURN size(range(1, 100000000))`` took 22 GB and the
process was killed by the kernel (measured; one million values took 885 MB). A result
holding such a value is also turned into Python objects whole, past ``cypher_max_rows``,
which counts rows. A scoped statement runs in a child process that is stopped past its
memory limit (``cypher_child.py``), so this check guards the statements that run in the
caller's own process: those without a scope.

A statement passes when every such call has literal (or parameter) sizes and the product
of all their sizes, nested calls multiplying, is at most ``MAX_GENERATED``: enough for
``UNWIND range(1, 100) AS i`` and the like, far below what hurts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .cypher_lexer import NAME, NUMBER, PARAM, PUNCT, STRING, WORD, Token, clause_words, tokenize
from .errors import QueryError

MAX_GENERATED = 10_000

# Function name -> the argument positions whose values decide the size.
GENERATORS = {"range": (0, 1, 2), "repeat": (0, 1), "lpad": (1,), "rpad": (1,)}


def check_generated(text: str, params: Mapping[str, Any]) -> None:
    """Raise ``QueryError`` for an unscoped statement that may build too big a value."""
    tokens = tokenize(text)
    total = 1
    for i in range(len(tokens)):
        name = _called(tokens, i)
        if name is None:
            continue
        args = _arguments(tokens, i + 2)
        size = _size(name, [_value(a, params) for a in args])
        if size is None:
            raise QueryError(
                f"cypher: {name}() is refused here unless its sizes are literal numbers or "
                f"parameters: it can build a value of any size inside this process, and a "
                f"statement without a scope runs there. Write the sizes out (such as "
                f"range(1, 100)), or pass user_id/agent_id/run_id to run the statement on "
                f"the scope's copy, whose memory is capped (cypher_max_memory_mb)",
                query_name="user",
            )
        total *= max(size, 1)
        if total > MAX_GENERATED:
            raise QueryError(
                f"cypher: the statement's {', '.join(_names(tokens))} would build more than "
                f"{MAX_GENERATED:,} values (nested calls multiply) inside this process, "
                f"where a statement without a scope runs; make them smaller, or pass "
                f"user_id/agent_id/run_id to run it on the scope's copy, whose memory is "
                f"capped (cypher_max_memory_mb)",
                query_name="user",
            )


# WITH clauses one after another that make a statement worth rehearsing: each may build
# its value from the one before, twice (``WITH list_concat(l, l) AS l``), and Kuzu folds
# the whole chain while it plans, past the time limit and the memory watch.
REHEARSE_WITHS = 3


def needs_rehearsal(text: str) -> bool:
    """Whether a statement could grow a constant value step by step while Kuzu plans it:
    a chain of ``REHEARSE_WITHS`` or more WITH clauses, or a lambda (``x -> ...``, which
    ``list_reduce`` can double once per element). Such a statement runs first on an empty
    copy of the schema in the child process (``sandbox.py``), where what planning costs
    meets the child's limits; measured, 18 doublings of a four-item list took 8.8 s and
    565 MB in process against a one-second limit, 22 went past 2.5 GB."""
    if clause_words(text).count("WITH") >= REHEARSE_WITHS:
        return True
    tokens = tokenize(text)
    return any(tokens[i].kind in (WORD, NAME) and tokens[i + 1].text == "-"
               and tokens[i + 2].text == ">" for i in range(len(tokens) - 2))  # fmt: skip


def _called(tokens: list[Token], i: int) -> str | None:
    """The generator called at ``i`` (a name followed by "(", not a property ``n.range``)."""
    tok = tokens[i]
    if tok.kind not in (WORD, NAME) or tok.word.casefold() not in GENERATORS:
        return None
    if tokens[i + 1].kind != PUNCT or tokens[i + 1].text != "(":
        return None
    if i and tokens[i - 1].kind == PUNCT and tokens[i - 1].text == ".":
        return None
    return tok.word.casefold()


def _names(tokens: list[Token]) -> list[str]:
    return sorted({f"{n}()" for i in range(len(tokens)) if (n := _called(tokens, i))})


def _arguments(tokens: list[Token], start: int) -> list[list[Token]]:
    """The top-level arguments of the call whose "(" is just before ``start``."""
    args: list[list[Token]] = [[]]
    depth = 0
    for tok in tokens[start:]:
        if tok.kind == PUNCT and tok.text in "([{":
            depth += 1
        elif tok.kind == PUNCT and tok.text in ")]}":
            if depth == 0:
                break
            depth -= 1
        elif tok.kind == PUNCT and tok.text == "," and depth == 0:
            args.append([])
            continue
        args[-1].append(tok)
    return args if args != [[]] else []


def _value(arg: list[Token], params: Mapping[str, Any]) -> int | str | None:
    """An argument's value where it is a literal or a parameter: an int, or a string."""
    sign = 1
    if len(arg) == 2 and arg[0].kind == PUNCT and arg[0].text in "-+":
        sign, arg = (-1 if arg[0].text == "-" else 1), arg[1:]
    if len(arg) != 1:
        return None
    tok = arg[0]
    if tok.kind == NUMBER and tok.text.isdigit():
        return sign * int(tok.text)
    if tok.kind == STRING and sign == 1:
        return tok.text[1:-1]
    if tok.kind == PARAM:
        value = params.get(tok.text)
        if isinstance(value, int) and not isinstance(value, bool):
            return sign * value
        if isinstance(value, str) and sign == 1:
            return value
    return None


def _size(name: str, values: list[int | str | None]) -> int | None:
    """How many values or characters the call makes, or None when that is not known."""
    wanted = [values[p] for p in GENERATORS[name] if p < len(values)]
    if name == "range":
        ints = [v for v in wanted if isinstance(v, int)]
        if len(ints) != len(wanted) or len(ints) < 2:
            return None
        start, stop, step = ints[0], ints[1], ints[2] if len(ints) > 2 else 1
        if step == 0:
            return 0  # the engine refuses it with its own message
        return max(0, (stop - start) // step + 1)
    if name == "repeat":
        if len(wanted) != 2 or not isinstance(wanted[1], int):
            return None
        # A string that is not a literal is a property or an expression: bounded by the
        # data, so only the count is held to the limit.
        text = wanted[0]
        return max(0, wanted[1]) * (len(text) if isinstance(text, str) else 1)
    # lpad / rpad: the length asked for
    return max(0, wanted[0]) if wanted and isinstance(wanted[0], int) else None
