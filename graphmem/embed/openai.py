"""Embeddings from any OpenAI-compatible ``/v1/embeddings`` endpoint.

``dim`` is a plain attribute, known once the embedder is built: stores need it to create
their collections before anything is embedded, and they record it (with ``name``) so a
later run with another model or size is refused instead of mixing vector spaces.

- ``dim=N``: trusted, and every answer is checked against it (``ConfigError`` on a
  mismatch). ``request_dim=True`` also asks the server to shorten vectors to ``N``
  (text-embedding-3 models support it; many other servers reject the field).
- ``dim=None``: OpenAI's own models come from a table; any other model costs one probe
  request at construction. The probe is eager on purpose: a lazy property would fire on
  ``isinstance(embedder, Embedder)`` (Python 3.11 runtime Protocols read attributes),
  turning a type check into a network call that can raise.

Retries and error translation are those of the chat client (``Counted._retried``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import openai

from ..errors import ConfigError, LLMError, ValidationError
from ..llm.calls import (
    Backoff,
    Counted,
    Counters,
    make_openai_client,
    not_openai_compatible,
    whole_deadline,
)

# Native sizes of OpenAI's embedding models, so the common case needs no probe request.
KNOWN_DIMS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}


class OpenAIEmbedder(Counted):  # tokens_out and cache_hits stay 0 for embeddings
    """``Embedder`` over an OpenAI-compatible endpoint; vectors come back unit-length."""

    def __init__(
        self,
        model: str,
        *,
        dim: int | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        batch_size: int = 128,
        client: openai.OpenAI | None = None,
        timeout: float = 30.0,
        deadline: float | None = None,
        max_retries: int = 4,
        backoff: Backoff | None = None,
        request_dim: bool = False,
    ) -> None:
        if not isinstance(model, str) or not model.strip():
            raise ConfigError("model must be a non-empty embedding model name")
        if dim is not None and (not isinstance(dim, int) or dim <= 0):
            raise ConfigError(f"dim must be a positive integer or None, got {dim!r}")
        if batch_size <= 0:
            raise ConfigError(f"batch_size must be positive, got {batch_size}")
        if request_dim and dim is None:
            raise ConfigError("request_dim=True needs dim= (the size to ask the server for)")
        deadline = whole_deadline(timeout, deadline)
        self.model = model
        self.name = f"openai:{model}"
        self.batch_size = batch_size
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff or Backoff()
        self.request_dim = request_dim
        self._client = make_openai_client(
            base_url=base_url, api_key=api_key, timeout=timeout, client=client, deadline=deadline
        )
        self._counters = Counters()
        self.dim: int = dim or KNOWN_DIMS.get(model, 0)
        if not self.dim:
            self._embed_batch(["dimension probe"])  # 0 means "take it from this answer"

    @property
    def endpoint(self) -> str:
        return f"POST {str(self._client.base_url).rstrip('/')}/embeddings"

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit vector per text, in order; sent in batches of ``batch_size``."""
        if isinstance(texts, str):
            raise ValidationError("texts", "must be a sequence of strings, not one string")
        for i, text in enumerate(texts):
            # The API answers 400 to an empty input; say which one before sending anything.
            if not isinstance(text, str) or not text.strip():
                raise ValidationError(f"texts[{i}]", "must be a non-empty string")
        out: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            out.extend(self._embed_batch(list(texts[start : start + self.batch_size])))
        return out

    def _embed_batch(self, batch: list[str]) -> list[list[float]]:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "input": batch,
            # Explicit floats: several OpenAI-compatible servers ignore or refuse base64.
            "encoding_format": "float",
        }
        if self.request_dim:
            kwargs["dimensions"] = self.dim
        response = self._retried(lambda: self._client.embeddings.create(**kwargs))
        usage = getattr(response, "usage", None)
        if usage is not None:
            self._counters.add(tokens_in=usage.prompt_tokens or 0)
        data = getattr(response, "data", None)
        if isinstance(response, str | bytes) or not isinstance(data, list):
            raise not_openai_compatible(self.endpoint, "no 'data' list of embeddings in its answer")
        if not all(isinstance(getattr(d, "embedding", None), list) for d in data):
            raise not_openai_compatible(self.endpoint, "an item of 'data' has no embedding list")
        data = sorted(data, key=lambda item: getattr(item, "index", 0) or 0)
        if len(data) != len(batch):
            raise LLMError(
                f"{self.endpoint} returned {len(data)} vectors for {len(batch)} texts; "
                "check that the server supports batched input"
            )
        lengths = {len(item.embedding) for item in data}
        if len(lengths) != 1:
            raise LLMError(f"{self.endpoint} returned vectors of uneven length {sorted(lengths)}")
        self._check_dim(lengths.pop())
        matrix = np.asarray([item.embedding for item in data], dtype=np.float64)
        norms = np.linalg.norm(matrix, axis=1)
        zero = np.flatnonzero(norms == 0)
        if zero.size:
            raise LLMError(
                f"{self.endpoint} returned an all-zero vector for {batch[int(zero[0])]!r}; "
                "check the embedding model"
            )
        return (matrix / norms[:, None]).tolist()

    def _check_dim(self, got: int) -> None:
        if not self.dim:
            if got <= 0:
                raise LLMError(f"{self.endpoint} returned empty vectors")
            self.dim = got
        elif got != self.dim:
            raise ConfigError(
                f"{self.name} returned {got}-dimensional vectors but dim={self.dim} was "
                "expected: pass the model's real dimension (or dim=None to discover it), "
                "or request_dim=True if the server can shorten vectors"
            )

    def __repr__(self) -> str:
        return f"OpenAIEmbedder({self.model!r}, dim={self.dim})"
