"""Embedder tests: the Protocol's promises for every embedder, then each one's own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import graphmem
from graphmem.embed import local
from graphmem.embed.local import HashingEmbedder, MiniLMEmbedder
from graphmem.errors import ConfigError, ValidationError
from graphmem.stores.base import Embedder

REPO_ROOT = Path(graphmem.__file__).resolve().parent.parent
TEXTS = ["Alice works at Acme as an engineer.", "", "Ünïcödé — 東京に住んでいます", "!!!"]
PARAPHRASE = ("My sister lives in Berlin.", "My sister's home is in Berlin.")
UNRELATED = "The quarterly tax report is due on Friday."


def cosine(a, b) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture(scope="module")
def minilm():
    return MiniLMEmbedder()


@pytest.fixture(params=["hashing", pytest.param("minilm", marks=pytest.mark.model)])
def embedder(request):
    if request.param == "minilm":
        return request.getfixturevalue("minilm")
    return HashingEmbedder()


def test_protocol_shape_and_unit_vectors(embedder):
    assert isinstance(embedder, Embedder)
    vectors = embedder.embed(TEXTS)
    assert len(vectors) == len(TEXTS)
    arr = np.asarray(vectors)
    assert arr.shape == (len(TEXTS), embedder.dim)
    np.testing.assert_allclose(np.linalg.norm(arr, axis=1), 1.0, atol=1e-5)
    assert embedder.embed([]) == []


def test_a_paraphrase_ranks_above_an_unrelated_sentence(embedder):
    first, second, other = np.asarray(embedder.embed([*PARAPHRASE, UNRELATED]))
    assert cosine(first, second) > cosine(first, other)


def test_a_bare_string_is_refused(embedder):
    with pytest.raises(ValidationError, match="one string"):
        embedder.embed("a single text")
    with pytest.raises(ValidationError):
        embedder.embed(["fine", 3])


# --- HashingEmbedder -------------------------------------------------------------------


def test_hashing_is_deterministic_across_instances_and_batches():
    one, two = HashingEmbedder(), HashingEmbedder()
    batch = one.embed(TEXTS)
    assert batch == two.embed(TEXTS)
    assert [two.embed([t])[0] for t in TEXTS] == batch


def test_hashing_does_not_depend_on_the_process_hash_seed():
    # Python salts str hashes per process; stored vectors must not change with the seed.
    code = (
        "import json, sys; from graphmem.embed.local import HashingEmbedder; "
        "print(json.dumps(HashingEmbedder().embed([sys.argv[1]])[0]))"
    )
    env = {
        **os.environ,
        "PYTHONHASHSEED": "12345",
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    out = subprocess.run(
        [sys.executable, "-c", code, TEXTS[0]],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    ).stdout
    assert json.loads(out) == HashingEmbedder().embed([TEXTS[0]])[0]


def test_hashing_similar_texts_are_closer_than_unrelated():
    emb = HashingEmbedder()
    base, typo, plural, other = np.asarray(
        emb.embed(
            [
                "Bob adopted a golden retriever puppy",
                "Bob adopted a golden retreiver puppy",
                "Bob adopted golden retriever puppies",
                "Quarterly revenue grew by ten percent",
            ]
        )
    )
    assert cosine(base, typo) > 0.7
    assert cosine(base, plural) > cosine(base, other)
    assert cosine(base, other) < 0.3


def test_hashing_name_and_dim_follow_the_setting():
    emb = HashingEmbedder(dim=64)
    assert (emb.name, emb.dim) == ("hashing-64", 64)
    assert len(emb.embed(["x"])[0]) == 64
    assert HashingEmbedder().name == "hashing-384"
    with pytest.raises(ConfigError):
        HashingEmbedder(dim=0)


def test_hashing_ignores_case_and_unicode_form():
    emb = HashingEmbedder()
    assert emb.embed(["Café Paris"]) == emb.embed(["CAFE\u0301 PARIS"])


# --- MiniLMEmbedder --------------------------------------------------------------------


def test_minilm_missing_package_says_how_to_install(monkeypatch):
    monkeypatch.setattr(local, "_MODEL_PACKAGE", "gt_no_such_model_package")
    with pytest.raises(ConfigError) as err:
        MiniLMEmbedder()
    assert "pip install torch==2.13.0" in str(err.value) and "hashing" in str(err.value)


def test_minilm_device_auto_is_the_default_and_picks_what_torch_sees():
    import torch

    embedder = MiniLMEmbedder()
    assert embedder.requested == "auto"
    expected = "cuda" if torch.cuda.is_available() else "cpu"  # cpu on the CI machine
    assert embedder.device == expected
    assert embedder.batch_size == local.BATCH_SIZES[expected]
    assert MiniLMEmbedder(device="cpu", batch_size=8).batch_size == 8


@pytest.mark.parametrize("device", ["gpu", "CUDA", "cuda:x", "", 0, None])
def test_minilm_refuses_a_device_it_cannot_name(device):
    with pytest.raises(ConfigError) as err:
        MiniLMEmbedder(device=device)
    assert "device=" in str(err.value) and "'auto'" in str(err.value)


def test_minilm_refuses_a_gpu_torch_does_not_see_before_loading_anything():
    import torch

    wanted = f"cuda:{torch.cuda.device_count()}"  # one past the last GPU, or cuda:0 on a CPU
    with pytest.raises(ConfigError) as err:
        MiniLMEmbedder(device=wanted).embed(["Alice works at Acme."])
    assert wanted in str(err.value) and "device='auto'" in str(err.value)


@pytest.mark.model
def test_minilm_is_384_d_and_ranks_by_meaning(minilm):
    assert (minilm.name, minilm.dim) == ("all-MiniLM-L6-v2", 384)
    query, paraphrase, unrelated = np.asarray(
        minilm.embed(
            [
                "Where does my sister live?",
                "My sister's home is in Berlin.",
                UNRELATED,
            ]
        )
    )
    assert query.shape == (384,)
    assert cosine(query, paraphrase) > cosine(query, unrelated) + 0.2
    # same text, same vector, whatever else is in the batch
    alone = np.asarray(minilm.embed(["Where does my sister live?"]))[0]
    np.testing.assert_allclose(alone, query, atol=1e-5)
