"""``CheckedEmbedder``: holds any embedder to the Protocol before its vectors are used.

A custom embedder that returned too few vectors, strings, or vectors of the wrong size
failed deep inside numpy on search, or wrote a broken point. Every vector graphmem uses
passes through here, so such an embedder gets one ``EmbedderError`` naming what it
returned and what was expected, before anything is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import ConfigError, EmbedderError


class CheckedEmbedder:
    """Wraps ``inner``; ``name`` and ``dim`` are the inner embedder's own."""

    def __init__(self, inner: Any) -> None:
        if isinstance(inner, CheckedEmbedder):
            inner = inner.inner
        for attribute in ("embed", "dim", "name"):
            if not hasattr(inner, attribute):
                raise ConfigError(
                    f"embedder {inner!r} has no {attribute!r}: an embedder needs name, dim "
                    "and embed(texts) -> one vector per text (graphmem.stores.base.Embedder)"
                )
        dim = inner.dim
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ConfigError(f"embedder {inner!r} has dim={dim!r}; it must be a positive integer")
        if not isinstance(inner.name, str) or not inner.name:
            raise ConfigError(f"embedder {inner!r} has name={inner.name!r}; it must be a string")
        self.inner = inner
        self.name = inner.name
        self.dim = dim
        # graphmem's own embedders already return checked float vectors: converting their
        # output once more would cost ~8% of batched ingest, so they get the count check only.
        self._own = type(inner).__module__.startswith("graphmem.embed.")

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        texts = list(texts)
        out = self.inner.embed(texts)
        return self._check(out, len(texts))

    def _check(self, out: Any, count: int) -> list[list[float]]:
        who = f"embedder {self.name!r}"
        if isinstance(out, str | bytes) or not isinstance(out, Sequence | np.ndarray):
            raise EmbedderError(
                f"{who} returned {type(out).__name__} for {count} texts; it must return a "
                "list with one vector per text"
            )
        if len(out) != count:
            raise EmbedderError(
                f"{who} returned {len(out)} vectors for {count} texts; it must return exactly "
                "one vector per text, in order"
            )
        if count == 0:
            return []
        if self._own:
            return out if isinstance(out, list) else np.asarray(out).tolist()
        sizes = sorted({len(v) if isinstance(v, Sequence | np.ndarray) else -1 for v in out})
        if sizes != [self.dim]:
            shown = ", ".join("not a list" if n < 0 else str(n) for n in sizes)
            raise EmbedderError(
                f"{who} returned vectors of size {shown}, but declares dim={self.dim}; fix the "
                "embedder or its dim (a data dir keeps the dimension it was created with)"
            )
        matrix = np.asarray(out)
        if matrix.dtype.kind not in "fiu" or matrix.ndim != 2:
            raise EmbedderError(
                f"{who} returned vectors that are not lists of numbers; each vector must be "
                f"{self.dim} floats"
            )
        if not np.isfinite(matrix).all():
            raise EmbedderError(f"{who} returned NaN or infinite values; vectors must be finite")
        if not (np.abs(matrix).sum(axis=1) > 0).all():
            raise EmbedderError(f"{who} returned an all-zero vector, which has no direction")
        return matrix.astype(np.float32).tolist()

    def __getattr__(self, attribute: str) -> Any:
        # Anything beyond the Protocol (device, batch_size, ...) is the inner embedder's.
        return getattr(self.inner, attribute)

    def __repr__(self) -> str:
        return f"CheckedEmbedder({self.inner!r})"
