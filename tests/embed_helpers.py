"""An embedder that remembers what it was asked, for tests that count embedding calls."""

from __future__ import annotations

from graphmem.embed.local import HashingEmbedder


class Recording(HashingEmbedder):
    """The hash embedder, keeping the texts of every call."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[list[str]] = []

    def embed(self, texts):
        self.calls.append(list(texts))
        return super().embed(texts)

    def texts(self) -> set[str]:
        return {t for call in self.calls for t in call}
