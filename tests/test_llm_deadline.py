"""A model server that trickles its answer: each byte comes within the read timeout, so
httpx's timeouts never fire, and an ``add()`` waited for as long as it kept sending (on
``graphmem serve``, with every other write behind it). ``llm_deadline_s`` bounds a whole
request (``graphmem/llm/deadline.py``)."""

from __future__ import annotations

import re

import pytest

from graphmem import Memory
from graphmem.errors import ConfigError, LLMError
from graphmem.llm.client import Backoff, OpenAIChat
from graphmem.llm.extract import LLMExtractor
from graphmem.testing import OpenAIServer, ok_tool_call, trickle

FACTS = {"facts": [{"text": "Ana lives in Lisbon.", "entities": ["Ana", "Lisbon"]}],
         "entities": [{"name": "Ana", "type": "person"}, {"name": "Lisbon", "type": "city"}],
         "relations": [{"source": "Ana", "relation": "lives_in", "target": "Lisbon",
                        "fact": 0}]}  # fmt: skip


def test_a_trickled_answer_is_cut_off_at_the_deadline_and_said_so():
    with OpenAIServer() as server:
        server.script(trickle(0.2), trickle(0.2))  # ~60 s each, a byte every 0.2 s
        chat = OpenAIChat("test-model", base_url=server.base_url, timeout=1.0, deadline=1.5,
                          max_retries=1, backoff=Backoff(0, 0))  # fmt: skip
        with pytest.raises(LLMError) as info:
            LLMExtractor(chat).extract("Ana lives in Lisbon.", speaker="Ana")
        message = str(info.value)
        assert "still arriving 1.5s after the request was sent" in message, message
        assert "raise deadline= (llm_deadline_s)" in message and "after 2 attempts" in message
        # A whole answer in time is read as before, on the same client.
        server.script(ok_tool_call(FACTS))
        assert [f.text for f in LLMExtractor(chat).extract("Ana lives in Lisbon.").facts] == [
            "Ana lives in Lisbon."
        ]


def test_an_add_whose_model_trickles_fails_whole_and_stores_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHMEM_LLM_DEADLINE_S", "1.5")
    with OpenAIServer() as server:
        memory = Memory.from_env(data_dir=tmp_path / "data", embedder="hash", extractor="llm",
                                 llm_base_url=server.base_url, llm_api_key="test",
                                 llm_timeout_s=1.0, llm_max_retries=0)  # fmt: skip
        try:
            assert memory.config.llm_deadline_s == 1.5  # read from the environment
            server.script(trickle(0.2))
            with pytest.raises(LLMError, match="llm_deadline_s"):
                memory.add("Ana lives in Lisbon.", user_id="ana")
            assert memory.get_all(user_id="ana") == []
            server.script(ok_tool_call(FACTS))
            memory.add("Ana lives in Lisbon.", user_id="ana")
            assert [m.text for m in memory.get_all(user_id="ana")] == ["Ana lives in Lisbon."]
        finally:
            memory.close()


@pytest.mark.parametrize("timeout, deadline, says", [
    (30.0, 10.0, "shorter than timeout"),
    (30.0, 0.0, "deadline must be positive"),
    (30.0, float("nan"), "deadline must be positive"),
    (30.0, True, "deadline must be positive"),
])  # fmt: skip
def test_a_deadline_that_cannot_hold_a_request_is_refused_by_name(timeout, deadline, says):
    with pytest.raises(ConfigError, match=says):
        OpenAIChat("test-model", base_url="http://127.0.0.1:9", timeout=timeout,
                   deadline=deadline)  # fmt: skip


def test_a_timeout_raised_past_the_default_deadline_raises_the_deadline_with_it(tmp_path):
    """Someone who set a 10-minute timeout before the deadline existed is not refused."""
    chat = OpenAIChat("test-model", base_url="http://127.0.0.1:9", timeout=600.0)
    assert chat._client._client._transport.seconds == 600.0
    default = OpenAIChat("test-model", base_url="http://127.0.0.1:9")
    assert default._client._client._transport.seconds == 300.0
    with Memory.open(tmp_path / "data", embedder="hash", llm_timeout_s=600.0) as memory:
        assert memory.config.llm_deadline_s is None  # 600 s when a model is used


def test_the_config_names_a_deadline_shorter_than_the_timeout(tmp_path):
    with pytest.raises(ConfigError) as info:
        Memory.open(tmp_path / "data", embedder="hash", llm_timeout_s=30.0, llm_deadline_s=5.0)
    assert "llm_deadline_s=5.0" in str(info.value) and "llm_timeout_s=30.0" in str(info.value)


@pytest.mark.parametrize("value, says", [
    ("x", "must be a number or None"), (float("nan"), "must be a number or None"),
    (True, "must be a number or None"), (-1.0, "seconds, in (0, 3600]"),
])  # fmt: skip
def test_a_deadline_setting_of_the_wrong_kind_is_refused_by_name(tmp_path, value, says):
    with pytest.raises(ConfigError, match=r"llm_deadline_s=.*" + re.escape(says)):
        Memory.open(tmp_path / "data", embedder="hash", llm_deadline_s=value)
