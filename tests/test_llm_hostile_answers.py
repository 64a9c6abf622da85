"""Model answers and servers that misbehave: a clear GraphMemError, nothing written, and
the API key in no message. The real openai client against graphmem's local server."""

from __future__ import annotations

import pytest

from graphmem import ExtractionError, LLMError, Memory
from graphmem.config import Config
from graphmem.llm.client import Backoff, OpenAIChat
from graphmem.llm.extract import LLMExtractor
from graphmem.testing import OpenAIServer, error, ok_tool_call, raw_content
from graphmem.testing.openai_server import Reply

KEY = "sk-test-0123456789abcdefghij"
GOOD = {"facts": [{"text": "Alice works at Acme."}],
        "entities": [{"name": "Alice", "type": "person", "aliases": []},
                     {"name": "Acme", "type": "organization", "aliases": []}],
        "relations": [{"source": "Alice", "relation": "works_at", "target": "Acme", "fact": 0}]}  # fmt: skip


def _memory(tmp_path, srv, **settings) -> Memory:
    chat = OpenAIChat("test-model", base_url=srv.base_url, api_key=KEY, max_retries=0,
                      cache=tmp_path / "llm-cache.sqlite", backoff=Backoff(0.01, 0.02))  # fmt: skip
    return Memory.open(tmp_path / "data", embedder="hash", extractor=LLMExtractor(chat),
                       **settings)  # fmt: skip


def _nothing_stored(m: Memory) -> None:
    assert m.get_all(user_id="u") == [] and m.history_store.events() == []
    assert m.verify().ok


@pytest.mark.parametrize("answer", [
    "[" * 100_000 + "]" * 100_000,  # a RecursionError inside json
    '{"facts": [{"text": "x", "n": ' + "9" * 5000 + "}]}",  # past int's 4,300 digits
], ids=["nested-100k", "int-5000-digits"])  # fmt: skip
def test_an_answer_json_cannot_read_is_an_extraction_error(tmp_path, answer):
    with OpenAIServer() as srv, _memory(tmp_path, srv) as m:
        srv.script(raw_content(answer))
        with pytest.raises(ExtractionError, match="cannot be read as JSON"):
            m.add("Alice works at Acme.", user_id="u")
        _nothing_stored(m)


@pytest.mark.parametrize("body", ['{"id": "x", "choices": [', b"\xff\xfe{}".decode("latin-1")],
                         ids=["cut-off", "not-utf8"])  # fmt: skip
def test_a_200_whose_body_cannot_be_read_is_an_llm_error(tmp_path, body):
    with OpenAIServer() as srv, _memory(tmp_path, srv) as m:
        srv.script(Reply(status=200, body=body, headers={"content-type": "application/json"}))
        with pytest.raises(LLMError, match="OpenAI-compatible"):
            m.add("Alice works at Acme.", user_id="u")
        _nothing_stored(m)


def test_the_api_key_a_server_echoes_is_not_in_the_error(tmp_path):
    with OpenAIServer() as srv, _memory(tmp_path, srv) as m:
        srv.script(error(401, f"Incorrect API key provided: {KEY}. Get one at example.org"))
        with pytest.raises(LLMError) as info:
            m.add("Alice works at Acme.", user_id="u")
        assert KEY not in str(info.value) and "[redacted]" in str(info.value)
    shown = repr(Config(llm_api_key=KEY, neo4j_password="pw-secret", qdrant_api_key="qk-9"))
    assert KEY not in shown and "pw-secret" not in shown and "qk-9" not in shown


def test_an_answer_refused_over_the_limits_is_not_served_again_from_the_cache(tmp_path):
    many = {"facts": [{"text": f"Alice owns book {n}."} for n in range(30)], "entities": [],
            "relations": []}  # fmt: skip
    with OpenAIServer() as srv, _memory(tmp_path, srv, max_extracted_items=10) as m:
        srv.script(ok_tool_call(many), ok_tool_call(GOOD))
        with pytest.raises(ExtractionError):
            m.add("Alice works at Acme.", user_id="u")
        _nothing_stored(m)
        (fact,) = m.add("Alice works at Acme.", user_id="u").facts  # the model is asked again
        assert fact.text == "Alice works at Acme."
        assert len(srv.requests_to("chat")) == 2


def test_a_decision_id_that_is_a_digit_but_no_number_is_an_extraction_error(tmp_path):
    with OpenAIServer() as srv, _memory(tmp_path, srv, update_threshold=0.01) as m:
        srv.script(ok_tool_call(GOOD))
        m.add("Alice works at Acme.", user_id="u")
        again = {**GOOD, "facts": [{"text": "Alice works at Acme now."}]}
        srv.script(ok_tool_call(again), ok_tool_call(
            {"decisions": [{"event": "UPDATE", "id": "\u00b2", "text": "x"}]}))  # fmt: skip
        with pytest.raises(ExtractionError, match="is not one of the ids"):
            m.add("Alice works at Acme now.", user_id="u")
        assert [f.text for f in m.get_all(user_id="u")] == ["Alice works at Acme."]


def test_an_answer_with_a_lone_surrogate_in_a_key_of_its_own_is_stored_and_cached(tmp_path):
    odd = {**GOOD, "note\udc00": "x\udc00"}
    with OpenAIServer() as srv, _memory(tmp_path, srv) as m:
        srv.script(ok_tool_call(odd))  # the cache write raised UnicodeEncodeError
        assert [f.text for f in m.add("Alice works at Acme.", user_id="u").facts] == [
            "Alice works at Acme."]  # fmt: skip
        m.delete_all(user_id="u")
        assert m.add("Alice works at Acme.", user_id="u").facts  # served from the cache
        assert len(srv.requests_to("chat")) == 1


def test_an_alias_that_is_another_listed_name_does_not_swallow_that_entity(tmp_path):
    answer = {"facts": [{"text": "Dana mentors Sam."}],
              "entities": [{"name": "Dana", "type": "person", "aliases": ["Sam"]},
                           {"name": "Sam", "type": "person", "aliases": []}],
              "relations": [{"source": "Dana", "relation": "mentors", "target": "Sam", "fact": 0}]}  # fmt: skip
    with OpenAIServer() as srv, _memory(tmp_path, srv) as m:
        srv.script(ok_tool_call(answer))
        m.add("Dana mentors Sam.", user_id="u")
        assert [r.target_name for r in m.graph.relations("Dana", user_id="u")] == ["Sam"]


def test_model_text_of_invisible_characters_only_is_refused_as_input_would_be(tmp_path):
    blank = {"facts": [{"text": "\u200b\u200b"}],
             "entities": [{"name": "\u200b", "type": "person", "aliases": []}],
             "relations": []}  # fmt: skip
    with OpenAIServer() as srv, _memory(tmp_path, srv) as m:
        srv.script(ok_tool_call(blank))
        with pytest.raises(ExtractionError, match="no visible character"):
            m.add("Alice works at Acme.", user_id="u")
        _nothing_stored(m)
