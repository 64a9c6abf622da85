"""Hostile input that used to escape as a traceback: each case now gets a GraphMemError that
names the problem and what to do, and nothing is written to any store."""

from __future__ import annotations

import json
import logging
import os
import warnings

import pytest

from graphmem import GraphMemError, LLMError, Memory, ValidationError
from graphmem import errors as gm_errors
from graphmem.embed.local import HashingEmbedder
from graphmem.lifecycle import MEMORY_TYPES
from graphmem.testing import OpenAIServer, Reply, delay, ok_content, ok_tool_call

USER = "u"
SURROGATE = "\ud800"
NO_TYPES = dict.fromkeys(MEMORY_TYPES, 0)
NOTHING = {"entities": 0, "facts": 0, "relations": 0, "memories": 0, "memory_types": NO_TYPES}


def nest(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth):
        value = {"a": value}
    return value


# --- 1. lone surrogates in caller text, metadata, names -----------------------------------


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda m: m.add(f"Alice {SURROGATE} likes tea.", user_id=USER), id="text"),
        pytest.param(
            lambda m: m.add("Carol likes tea.", user_id=USER, metadata={"k": SURROGATE}),
            id="metadata-value",
        ),
        pytest.param(
            lambda m: m.add("Carol likes tea.", user_id=USER, metadata={SURROGATE: 1}),
            id="metadata-key",
        ),
        pytest.param(
            lambda m: m.add(
                {"role": "user", "content": "Carol likes tea.", "name": SURROGATE}, user_id=USER
            ),  # fmt: skip
            id="speaker-name",
        ),
        pytest.param(
            lambda m: m.add_triples([(f"Al{SURROGATE}", "knows", "Bob")], user_id=USER),
            id="triple-name",
        ),
        pytest.param(
            lambda m: m.add("Carol likes tea.", user_id=USER, source_ids=[SURROGATE]),
            id="source-id",
        ),
        pytest.param(
            lambda m: m.add_many([{"text": f"x {SURROGATE}"}], user_id=USER), id="add-many"
        ),
    ],
)
def test_lone_surrogates_in_caller_input_are_refused_and_nothing_is_written(memory, stored, call):
    before = stored(memory)
    with pytest.raises(ValidationError, match="lone surrogate"):
        call(memory)
    assert stored(memory) == before


def test_lone_surrogate_in_update_and_search_is_a_validation_error(memory, stored):
    fact = memory.get_all(user_id=USER)[0]
    before = stored(memory)
    with pytest.raises(ValidationError, match="lone surrogate"):
        memory.update(fact.id, f"Alice {SURROGATE}", user_id=USER)
    with pytest.raises(ValidationError, match="lone surrogate"):
        memory.search(f"Alice {SURROGATE}", user_id=USER)
    assert stored(memory) == before
    assert memory.get(fact.id, user_id=USER).text == fact.text


@pytest.mark.parametrize("scoped", [True, False], ids=["in-a-scope", "whole-graph"])
def test_lone_surrogate_in_a_cypher_query_is_named_as_the_querys_problem(memory, scoped):
    scope = {"user_id": USER} if scoped else {}
    with pytest.raises(ValidationError, match="lone surrogate") as refused:
        memory.cypher(f"MATCH (e:Entity) WHERE e.name = 'Al{SURROGATE}' RETURN e.name", **scope)
    assert refused.value.field == "query"
    assert memory.cypher("MATCH (e:Entity) RETURN count(e) AS n", **scope)[0]["n"] > 0


def _llm_memory(path, server, **settings) -> Memory:
    return Memory.open(path / "data", embedder="hash", extractor="llm",
                       llm_base_url=server.base_url, llm_api_key="test-key",
                       **settings)  # fmt: skip


def test_lone_surrogate_in_the_models_answer_is_an_llm_error_and_nothing_is_written(tmp_path):
    answer = {
        "facts": [{"text": f"Alice {SURROGATE} works at Acme."}],
        "entities": [{"name": "Alice", "type": "person"}, {"name": "Acme", "type": "organization"}],
        "relations": [{"source": "Alice", "relation": "works_at", "target": "Acme", "fact": 0}],
    }
    with OpenAIServer() as server, _llm_memory(tmp_path, server) as m:
        server.script(ok_tool_call(json.dumps(answer)))  # JSON escapes it as "\ud800"
        with pytest.raises(LLMError, match="surrogate"):
            m.add("Alice works at Acme.", user_id=USER)
        assert m.get_all(user_id=USER) == []
        assert m.stats(user_id=USER) == NOTHING


# --- 2. metadata nested ~1,000 deep ------------------------------------------------------


def test_deeply_nested_metadata_is_a_validation_error_not_a_recursion_error(memory, stored):
    before = stored(memory)
    with pytest.raises(ValidationError, match="nested more than") as info:
        memory.add("Carol likes tea.", user_id=USER, metadata={"x": nest(1_000)})
    assert info.value.field == "metadata"
    assert stored(memory) == before


def test_oversized_and_non_finite_metadata_are_refused(memory, stored):
    before = stored(memory)
    with pytest.raises(ValidationError, match="bytes as JSON"):
        memory.add("Carol likes tea.", user_id=USER, metadata={"blob": "x" * 200_000})
    with pytest.raises(ValidationError, match="finite"):
        memory.add("Carol likes tea.", user_id=USER, metadata={"score": float("nan")})
    assert stored(memory) == before
    # Moderate nesting still works.
    memory.add("Carol likes tea.", user_id=USER, metadata={"x": nest(10)})


# --- 3. an endpoint answering 200 with an HTML page ---------------------------------------

HTML = "<!doctype html><html><body><h1>Welcome to the captive portal</h1></body></html>"


def test_html_page_from_the_chat_endpoint_is_an_llm_error_naming_the_url(tmp_path):
    page = Reply(status=200, body=HTML, headers={"Content-Type": "text/html"})
    with OpenAIServer() as server, _llm_memory(tmp_path, server) as m:
        server.script(page)
        with pytest.raises(LLMError, match="OpenAI-compatible") as info:
            m.add("Alice works at Acme.", user_id=USER)
        assert server.base_url.rstrip("/") in str(info.value)
        assert m.get_all(user_id=USER) == []


def test_html_page_from_the_embeddings_endpoint_is_an_llm_error(tmp_path):
    page = Reply(status=200, body=HTML, headers={"Content-Type": "text/html"})
    with OpenAIServer() as server:
        m = Memory.open(tmp_path / "data", embedder="openai", llm_base_url=server.base_url,
                        extractor="offline", embedding_model="test-embed")  # fmt: skip
        with m:
            server.script(page, endpoint="embeddings")
            with pytest.raises(LLMError, match="OpenAI-compatible") as info:
                m.add("Alice works at Acme.", user_id=USER)
            assert server.base_url.rstrip("/") in str(info.value)
            assert m.get_all(user_id=USER) == []


# --- 7. a custom embedder that breaks its contract ----------------------------------------


class Unruly:
    """A custom embedder that behaves until told to misbehave in one way."""

    name = "unruly-16"
    dim = 16

    def __init__(self) -> None:
        self.mode = "ok"
        self._inner = HashingEmbedder(16)

    def embed(self, texts):
        vectors = self._inner.embed(texts)
        if self.mode == "too-few":
            return vectors[:-1]
        if self.mode == "strings":
            return ["not a vector" for _ in texts]
        if self.mode == "wrong-dim":
            return [v[:8] for v in vectors]
        if self.mode == "nan":
            return [[float("nan")] * 16 for _ in texts]
        return vectors


@pytest.mark.parametrize("mode", ["too-few", "strings", "wrong-dim", "nan"])
def test_a_custom_embedders_bad_output_is_a_clean_error_on_add_and_on_search(tmp_path, mode):
    embedder = Unruly()
    with Memory.open(tmp_path / "data", embedder=embedder) as m:
        m.add("Alice works at Acme.", user_id=USER)
        before = (m.vectors.count("facts"), m.stats(user_id=USER))
        embedder.mode = mode
        for call in (
            lambda: m.add("Bob lives in Paris. Carol likes tea.", user_id=USER),
            lambda: m.search("where does Bob live?", user_id=USER),
        ):
            with pytest.raises(gm_errors.GraphMemError) as info:
                call()
            assert type(info.value).__name__ == "EmbedderError"
            assert "unruly-16" in str(info.value)
        assert (m.vectors.count("facts"), m.stats(user_id=USER)) == before


# --- 9. the model's output is held to the caller's limits ---------------------------------


def _entities(n: int) -> list[dict]:
    return [{"name": f"Entity {i}", "type": "person"} for i in range(n)]


@pytest.mark.parametrize(
    "answer, problem",
    [
        ({"facts": [{"text": "Alice " + "a" * 1_000_000}], "entities": [], "relations": []},
         "max_text_chars"),
        ({"facts": [{"text": "Alice works at Acme."}], "entities": _entities(3_000),
          "relations": []}, "3,000 entities"),
    ],
    ids=["one-megabyte-fact", "three-thousand-entities"],
)  # fmt: skip
def test_model_output_over_the_limits_is_refused_and_nothing_is_written(tmp_path, answer, problem):
    with OpenAIServer() as server, _llm_memory(tmp_path, server) as m:
        server.script(ok_tool_call(answer))
        with pytest.raises(LLMError, match=problem):
            m.add("Alice works at Acme.", user_id=USER)
        assert m.stats(user_id=USER) == NOTHING
        assert m.history_store.events(None) == []


def test_the_models_update_decision_is_held_to_max_text_chars(tmp_path):
    def model(request):
        tool = request["tools"][0]["function"]["name"]
        if tool == "decide":
            return ok_tool_call(
                {"decisions": [{"event": "UPDATE", "id": "0", "text": "x" * 30_000}]}
            )
        fact = "Alice works at Acme." if "Acme." in request["messages"][-1]["content"] else (
            "Alice works at Acme Corp.")  # fmt: skip
        return ok_tool_call({"facts": [{"text": fact}], "entities": [], "relations": []})

    with OpenAIServer(model) as server, _llm_memory(tmp_path, server) as m:
        m.add("Alice works at Acme.", user_id=USER)
        before = (m.vectors.count("facts"), len(m.history_store.events(None)))
        with pytest.raises(LLMError, match="max_text_chars"):
            m.add("Alice works at Acme Corp.", user_id=USER)
        assert [r.body["tools"][0]["function"]["name"] for r in server.requests_to("chat")] == [
            "extract", "extract", "decide"]  # fmt: skip
        assert (m.vectors.count("facts"), len(m.history_store.events(None))) == before


def test_the_cap_on_extracted_items_is_a_setting(tmp_path):
    answer = {"facts": [{"text": "Alice works at Acme."}], "entities": _entities(30),
              "relations": []}  # fmt: skip
    with OpenAIServer() as server:
        with _llm_memory(tmp_path / "a", server, max_extracted_items=20) as m:
            server.script(ok_tool_call(answer))
            with pytest.raises(LLMError, match="max_extracted_items"):
                m.add("Alice works at Acme.", user_id=USER)
        with _llm_memory(tmp_path / "b", server, max_extracted_items=50) as m:
            server.script(ok_tool_call(answer))
            assert len(m.add("Alice works at Acme.", user_id=USER).entities) == 30


# --- 10. model timeout and retries are settings -------------------------------------------


def test_a_slow_model_fails_within_the_configured_timeout_and_attempts(tmp_path):
    with OpenAIServer() as server:
        server.script(*[delay(5) for _ in range(6)])
        with _llm_memory(tmp_path, server, llm_timeout_s=0.3, llm_max_retries=1) as m:
            with pytest.raises(LLMError, match="after 2 attempts"):
                m.add("Alice works at Acme.", user_id=USER)
            assert len(server.requests_to("chat")) == 2  # not 5 attempts of 30 s each
            assert m.get_all(user_id=USER) == []


def test_timeout_and_retries_are_read_from_the_environment(tmp_path):
    from graphmem.config import Config

    env = {"GRAPHMEM_DATA_DIR": str(tmp_path), "GRAPHMEM_LLM_TIMEOUT_S": "2.5",
           "GRAPHMEM_LLM_MAX_RETRIES": "0"}  # fmt: skip
    config = Config.from_env(env)
    assert (config.llm_timeout_s, config.llm_max_retries) == (2.5, 0)
    with pytest.raises(gm_errors.ConfigError, match="GRAPHMEM_LLM_MAX_RETRIES"):
        Config.from_env({**env, "GRAPHMEM_LLM_MAX_RETRIES": "many"})


def test_tool_calling_and_temperature_are_settings_the_environment_reaches(tmp_path):
    """A server that refuses tools or a temperature in words graphmem does not know left
    advice (use_tools=False) that only a caller building OpenAIChat could follow: Memory.open,
    the CLI and ``graphmem serve`` read their settings from here."""
    from graphmem.config import Config

    answer = {"facts": [{"text": "Alice works at Acme."}], "entities": [], "relations": []}
    env = {"GRAPHMEM_DATA_DIR": str(tmp_path / "data"), "GRAPHMEM_EMBEDDER": "hash",
           "GRAPHMEM_LLM_USE_TOOLS": "0", "GRAPHMEM_LLM_TEMPERATURE": "default"}  # fmt: skip
    with OpenAIServer() as server:
        env.update(OPENAI_BASE_URL=server.base_url, OPENAI_API_KEY="test-key")
        server.script(ok_content(answer))
        with Memory.open(config=Config.from_env(env)) as m:
            assert [f.text for f in m.add("Alice works at Acme.", user_id=USER).facts] == [
                "Alice works at Acme."
            ]
        (sent,) = server.requests_to("chat")  # the first request, not a refused one
        assert "tools" not in sent.body and "temperature" not in sent.body
        assert '"facts"' in sent.body["messages"][0]["content"]  # the schema, as text
    config = Config.from_env({**env, "GRAPHMEM_LLM_USE_TOOLS": "yes",
                              "GRAPHMEM_LLM_TEMPERATURE": "0.7"})  # fmt: skip
    assert (config.llm_use_tools, config.llm_temperature) == (True, 0.7)
    for name, raw, said in (("GRAPHMEM_LLM_USE_TOOLS", "maybe", "set it to 1 or 0"),
                            ("GRAPHMEM_LLM_TEMPERATURE", "warm", "from 0 to 2"),
                            ("GRAPHMEM_LLM_TEMPERATURE", "7", "llm_temperature=7.0")):  # fmt: skip
        with pytest.raises(gm_errors.ConfigError, match=said):
            Config.from_env({**env, name: raw})


# --- 12. ids are normalised the same way everywhere ----------------------------------------


def test_history_accepts_the_upper_case_id_that_get_accepts(memory):
    fact = memory.get_all(user_id=USER)[0]
    upper = fact.id.upper()
    assert memory.get(upper, user_id=USER).id == fact.id
    assert memory.history(upper, user_id=USER) == memory.history(fact.id, user_id=USER)
    memory.update(upper, "Alice works at Globex.", user_id=USER)
    assert [e.event for e in memory.history(upper, user_id=USER)][-1] == "UPDATE"


# --- 14. the host's process-wide state is left alone -------------------------------------


@pytest.mark.model
def test_local_embedder_leaves_torch_threads_logging_warnings_and_environment_alone():
    torch = pytest.importorskip("torch")
    from graphmem.embed.local import MiniLMEmbedder

    try:
        embedder = MiniLMEmbedder()
    except GraphMemError as exc:
        pytest.skip(f"local model not installed: {exc}")
    torch.set_num_threads(2)
    root = logging.getLogger()
    before = (
        torch.get_num_threads(), list(root.handlers), root.level, list(warnings.filters),
        dict(os.environ),
    )  # fmt: skip
    embedder.embed(["warm up"])  # loads the model: imports transformers
    during: list[int] = []
    module = embedder._load()  # the torch module whose forward pass runs each embed
    hook = module.register_forward_pre_hook(lambda *_: during.append(torch.get_num_threads()))
    try:
        embedder.embed(["one short query"])
        embedder.embed([f"text {i}" for i in range(20)])
    finally:
        hook.remove()
    after = (
        torch.get_num_threads(), list(root.handlers), root.level, list(warnings.filters),
        dict(os.environ),
    )  # fmt: skip
    assert during and set(during) == {2}, "torch's global thread count changed while embedding"
    assert after[0] == before[0]
    assert after[1:3] == before[1:3], "logging configuration changed"
    assert after[3] == before[3], "warnings filters changed"
    assert after[4] == before[4], (
        f"environment changed: {sorted(set(after[4].items()) ^ set(before[4].items()))}"
    )
