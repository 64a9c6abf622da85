"""Memory lifecycle: types, importance, expiry, archival, access and promotion.

``fields.py`` holds what a memory carries and the checks on what callers give;
``clock.py`` is the one source of "now" (injectable for tests).
"""

from .clock import Clock, check_clock, now_text
from .fields import MEMORY_TYPES, Life, check_life, check_memory_types

__all__ = [
    "MEMORY_TYPES",
    "Clock",
    "Life",
    "check_clock",
    "check_life",
    "check_memory_types",
    "now_text",
]
