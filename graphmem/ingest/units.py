"""What one ``add`` becomes before extraction: its units, checked and windowed.

A unit is the messages one extraction reads together, with what the caller attached to
them (``pipeline.Unit``). ``Memory.add``, ``add_many`` and ``add_triples`` turn their
arguments into units here; a long conversation becomes several, one per window.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import ValidationError
from ..lifecycle.fields import Life, item_life
from ..models import Fact
from . import sections
from .pipeline import Unit
from .validate import (
    check_item,
    check_metadata,
    check_source_ids,
    check_timestamp,
    message_windows,
    normalise_messages,
    spoken_places,
)

NO_LIFE = Life()  # an add that sets no lifecycle field


def units_of(messages: Any, metadata: Any, source_ids: Any, timestamp: Any,
             life: Life = NO_LIFE, *, limit: int, whole: bool = False,
             infer: object = False) -> list[Unit]:  # fmt: skip
    """A long conversation's windows (``message_windows``), each a unit; with ``whole``,
    or for a procedure's trace (it becomes one memory), one unit within ``limit``
    characters. With ``infer``, a long string is first read as the messages or paragraphs
    it holds (``sections.py``); a rule or a procedure stays one text."""
    if (infer is True and not whole and isinstance(messages, str)
            and life.memory_type not in ("procedural", "rule")):  # fmt: skip
        messages = sections.parts(messages)
    windows = ([normalise_messages(messages, limit)]
               if whole or life.memory_type == "procedural"
               else message_windows(messages, limit))  # fmt: skip
    metadata, source_ids = check_metadata(metadata), check_source_ids(source_ids)
    when = check_timestamp(timestamp)
    # One source id per message given: a turn passed over for saying nothing takes its
    # id along (the turns are read again only then, not on every add).
    if isinstance(messages, list | tuple) and len(source_ids) == len(messages) > 1:
        places = spoken_places(messages)
        if places is not None:
            source_ids = [source_ids[i] for i in places]
    # One source id per message (a chat's message ids): each window keeps its own.
    per_message = len(windows) > 1 and len(source_ids) == sum(map(len, windows))
    units, at = [], 0
    for window in windows:
        own = source_ids[at : at + len(window)] if per_message else source_ids
        units.append(Unit(window, metadata=dict(metadata), source_ids=list(own),
                          timestamp=when, life=life))  # fmt: skip
        at += len(window)
    return units


def units_of_items(items: Sequence[Any], base: dict[str, Any], now: Any, *, limit: int,
                   infer: object) -> list[list[Unit]]:  # fmt: skip
    """``add_many``'s items (a sequence: the caller checked that), each checked and turned
    into its units (a long conversation's windows stay together) before anything is
    written. ``base`` holds the call's lifecycle arguments, which an item's own fields
    override. An error names the item (``items[3].messages[0].content``), in the caller's
    spelling of its field."""
    units = []
    for i, item in enumerate(items):
        item = check_item(item, f"items[{i}]")
        body = item.get("messages", item.get("text"))
        life = item_life(base, item, now=now, where=f"items[{i}].")
        try:
            units.append(units_of(body, item.get("metadata"), item.get("source_ids"),
                                  item.get("timestamp"), life, limit=limit, infer=infer))  # fmt: skip
        except ValidationError as exc:  # which item, not only which of its fields
            named = exc.field
            if "text" in item and named.startswith("messages"):
                named = "text" + named[len("messages") :]  # as the caller spelt it
            raise ValidationError(f"items[{i}].{named}", exc.detail) from None
    return units


def copies_of(originals: Sequence[Fact], limit: int) -> list[Unit]:
    """Units that say ``originals`` again, each as its speaker said it, with its
    metadata, sources, time, type and importance: a promotion's copies
    (``lifecycle/maintain.py``), each born pointing at the memory it copies."""
    return [Unit(normalise_messages({"role": f.role or "user", "content": f.text}, limit),
                 metadata=dict(f.metadata), source_ids=list(f.source_ids),
                 timestamp=f.valid_at,
                 life=Life(f.memory_type, f.importance, promoted_from=f.id))
            for f in originals]  # fmt: skip
