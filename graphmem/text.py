"""How text splits into words, across scripts.

Chinese and Japanese are written without spaces between words, and a Korean word carries
its particles ("서울에", "in Seoul"). Splitting on spaces and punctuation made a whole
sentence one "word" there: BM25 matched "我住在东京" only by the whole sentence, so a
search for "东京" found nothing by keyword (measured before this module: every CJK and
Korean query of ``tests/test_cjk.py`` returned no keyword hit), a query never linked to
an entity named "东京", and a 2,000-character message counted as a few words, so it was
never treated as long.

Runs of these scripts are read as overlapping pairs of characters instead ("东京大学" ->
东京, 京大, 大学), as Lucene's CJK analyser does: a pair is about as specific as a word
there, needs no dictionary, and a name of two or more characters is found wherever it is
written. Other scripts keep their word runs. For length thresholds a CJK character counts
as one word: that is roughly what an embedder's tokeniser sees (all-MiniLM-L6-v2 reads
one token per Han character), and the thresholds exist because of the embedder's window.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

# Han (with extensions and compatibility forms), kana (full and half width), Hangul.
_CJK_CHARS = (
    "\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff\uf900-\ufaff\uff66-\uffdc"
    "\U00020000-\U0003134f"
)
CJK_RUN = re.compile(f"[{_CJK_CHARS}]+")
_CJK = re.compile(f"[{_CJK_CHARS}]")
_NOT_SPACE = re.compile(r"\S+")


def has_cjk(text: str) -> bool:
    """Whether ``text`` holds a character of a script written without word spaces."""
    return not text.isascii() and _CJK.search(text) is not None


def pairs(run: str) -> list[str]:
    """A CJK run as overlapping character pairs; a lone character stands for itself."""
    if len(run) < 2:
        return [run] if run else []
    return [run[i : i + 2] for i in range(len(run) - 1)]


def split_scripts(word: str) -> list[tuple[str, bool]]:
    """``word`` cut where it changes between CJK and other scripts: ``(part, is_cjk)``.

    "iPhone手机" -> [("iPhone", False), ("手机", True)].
    """
    if not has_cjk(word):
        return [(word, False)]
    out: list[tuple[str, bool]] = []
    start = 0
    for run in CJK_RUN.finditer(word):
        if run.start() > start:
            out.append((word[start : run.start()], False))
        out.append((run.group(), True))
        start = run.end()
    if start < len(word):
        out.append((word[start:], False))
    return out


def word_count(text: str) -> int:
    """Words of ``text`` as length thresholds count them: each space-separated word,
    except that a CJK character counts as one word (see the module's note)."""
    if not has_cjk(text):
        return len(text.split())
    count = 0
    for chunk in _NOT_SPACE.findall(text):
        cjk = sum(len(run) for run in CJK_RUN.findall(chunk))
        # What is left once the CJK runs are taken out ("iPhone手机" leaves "iPhone").
        rest = CJK_RUN.sub(" ", chunk).split()
        count += cjk + sum(1 for part in rest if any(c.isalnum() for c in part))
    return count


def fact_text_key(text: str) -> str:
    """A fact's text as compared for sameness: case and runs of whitespace ignored."""
    return " ".join(text.casefold().split())


def parts_key(texts: Iterable[str]) -> str:
    """A short digest of the texts of the facts a source was split into, whatever their
    order: search shows the message whole only while its facts still say this
    (``search/results.py``), so a fact deleted or reworded never comes back inside it."""
    joined = "\x1f".join(sorted(fact_text_key(t) for t in texts))
    return hashlib.blake2b(joined.encode("utf-8"), digest_size=8).hexdigest()
