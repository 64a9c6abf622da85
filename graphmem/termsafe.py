"""Text from the stores, made safe to print on a terminal.

A memory can hold anything a caller or a model wrote, terminal escape sequences included
(``"\\x1b]0;owned\\x07"`` retitles the window, others move the cursor or hide text).
The CLI passes every line it prints through ``safe()`` (and ``--json`` output through
``json_safe()``) so control characters arrive as visible escapes, never as commands to
the terminal.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, the bidirectional marks, overrides and isolates that can make
# printed text read differently from what is stored (U+061C is Arabic's mark), and the
# line and paragraph separators, which some terminals and editors show as a new line.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(text: object, *, lines: bool = False) -> str:
    """``str(text)`` with every control character shown as ``\\xNN`` / ``\\uNNNN``;
    ``lines=True`` keeps newlines (for messages, not table cells)."""
    text = text if isinstance(text, str) else str(text)
    if lines:
        return "\n".join(_UNSAFE.sub(_escape, part) for part in text.split("\n"))
    return _UNSAFE.sub(_escape, text)


def json_safe(document: str) -> str:
    """A JSON text with the controls ``json.dumps(ensure_ascii=False)`` leaves raw (C1,
    bidi overrides) written as ``\\uNNNN`` escapes: the same JSON value, safe to print.
    C0 controls are escaped by json already; outside strings JSON holds none of these."""
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", document)
