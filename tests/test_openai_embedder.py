"""OpenAIEmbedder through the real openai client against the local test server."""

from __future__ import annotations

import math

import openai
import pytest

from graphmem.embed.openai import OpenAIEmbedder
from graphmem.errors import ConfigError, LLMError, ValidationError
from graphmem.llm.client import Backoff
from graphmem.stores.base import Embedder
from graphmem.testing import OpenAIServer, embeddings_reply, error, hash_embedding


@pytest.fixture(scope="module")
def shared():
    with OpenAIServer(dim=32) as srv:
        yield srv, openai.OpenAI(base_url=srv.base_url, api_key="test-key")


@pytest.fixture
def server(shared):
    srv, _ = shared
    srv.reset()
    yield srv
    srv.reset()


@pytest.fixture
def make_embedder(shared):
    def build(**kwargs) -> OpenAIEmbedder:
        kwargs.setdefault("backoff", Backoff(0, 0))
        kwargs.setdefault("client", shared[1])
        kwargs.setdefault("dim", 32)  # known size: no probe request at construction
        return OpenAIEmbedder("test-embed", **kwargs)

    return build


def cosine(a, b):
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_batches_normalises_and_keeps_order(server, make_embedder):
    embedder = make_embedder(batch_size=2)
    texts = ["Ana lives in Lisbon", "Ana lives in Porto", "tea", "coffee", "Ana lives in Lisbon"]

    vectors = embedder.embed(texts)

    assert len(vectors) == 5 and all(len(v) == 32 for v in vectors)
    assert all(math.isclose(math.hypot(*v), 1.0, rel_tol=1e-9) for v in vectors)
    assert vectors[0] == vectors[4]
    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2])
    batches = [r.body["input"] for r in server.requests_to("embeddings")]
    assert batches == [texts[0:2], texts[2:4], texts[4:5]]
    assert embedder.calls == 3 and embedder.tokens_in > 0


def test_unknown_dim_is_probed_once_at_construction(server):
    embedder = OpenAIEmbedder("test-embed", base_url=server.base_url)
    assert isinstance(embedder, Embedder)  # a type check must not send anything more
    assert (embedder.dim, embedder.name) == (32, "openai:test-embed")
    assert len(server.requests) == 1 and embedder.calls == 1


def test_known_openai_models_need_no_probe(server, shared):
    embedder = OpenAIEmbedder("text-embedding-3-small", client=shared[1])
    assert embedder.dim == 1536 and server.requests == []


def test_a_failed_probe_fails_construction(server, shared):
    server.script(error(401, "bad key"), endpoint="embeddings")
    with pytest.raises(LLMError, match="api_key"):
        OpenAIEmbedder("test-embed", client=shared[1])


def test_vectors_are_normalised_even_when_the_server_does_not(server, make_embedder):
    server.script(embeddings_reply([[3.0, 4.0]]), endpoint="embeddings")
    assert make_embedder(dim=2).embed(["x"]) == [[0.6, 0.8]]


def test_a_given_dim_is_checked(server, make_embedder):
    with pytest.raises(ConfigError, match="32-dimensional"):
        make_embedder(dim=8).embed(["hello"])


def test_request_dim_asks_the_server_to_shorten(server, make_embedder):
    vectors = make_embedder(dim=8, request_dim=True).embed(["hello"])
    assert len(vectors[0]) == 8
    assert server.requests[0].body["dimensions"] == 8


def test_transient_errors_are_retried(server, make_embedder):
    server.script(error(429), error(502), endpoint="embeddings")
    embedder = make_embedder()
    assert len(embedder.embed(["hello"])) == 1
    assert len(server.requests_to("embeddings")) == 3 and embedder.calls == 3


def test_client_errors_fail_at_once_as_llm_error(server, make_embedder):
    server.script(error(400, "bad model"), endpoint="embeddings")
    with pytest.raises(LLMError, match="embeddings failed after 1 attempt") as info:
        make_embedder().embed(["hello"])
    assert "bad model" in str(info.value)
    assert len(server.requests) == 1


def test_empty_texts_are_refused_before_sending(server, make_embedder):
    embedder = make_embedder()
    with pytest.raises(ValidationError, match=r"texts\[1\]"):
        embedder.embed(["ok", "  "])
    assert embedder.embed([]) == []
    assert server.requests == []


def test_the_server_speaks_base64_to_a_default_openai_client(server, shared):
    # The openai client asks for base64 unless told otherwise; the test server must decode-match.
    response = shared[1].embeddings.create(model="m", input=["hello world"])
    assert server.requests[0].body["encoding_format"] == "base64"
    expected = hash_embedding("hello world", 32)
    assert all(
        math.isclose(a, b, abs_tol=1e-6)
        for a, b in zip(response.data[0].embedding, expected, strict=True)
    )
