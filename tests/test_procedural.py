"""Procedural memory: an agent's trace becomes one numbered procedure, through the scripted
model server (the real ``openai`` client) or offline, verbatim."""

from __future__ import annotations

import pytest

from graphmem import ExtractionError, Memory, ValidationError
from graphmem.ingest.procedural import offline_procedure
from graphmem.ingest.validate import Message
from graphmem.llm.client import Backoff, OpenAIChat
from graphmem.llm.extract import LLMExtractor
from graphmem.llm.procedure import parse_procedure
from graphmem.testing import OpenAIServer, ok_tool_call

TRACE = [
    {"role": "user", "content": "Download last month's invoice from Acme's portal."},
    {"role": "assistant", "content": "Opened portal.acme.com and signed in as ops@example.com."},
    {"role": "tool", "content": "login ok"},
    {"role": "assistant", "content": "Went to Billing > Invoices and filtered by October."},
    {"role": "assistant", "content": "Downloaded INV-1042.pdf to /shared/invoices."},
]
OFFLINE_TEXT = (
    "Procedure: Download last month's invoice from Acme's portal.\n"
    "1. Opened portal.acme.com and signed in as ops@example.com.\n"
    "2. (tool) login ok\n"
    "3. Went to Billing > Invoices and filtered by October.\n"
    "4. Downloaded INV-1042.pdf to /shared/invoices."
)
MODEL_ANSWER = {
    "title": "Download a monthly invoice from the Acme portal",
    "steps": ["1. Sign in at portal.acme.com as ops@example.com",
              "Open Billing > Invoices and filter by the month", "Download the PDF to /shared/invoices"],
}  # fmt: skip
MODEL_TEXT = (
    "Procedure: Download a monthly invoice from the Acme portal\n"
    "1. Sign in at portal.acme.com as ops@example.com\n"
    "2. Open Billing > Invoices and filter by the month\n"
    "3. Download the PDF to /shared/invoices"
)


def messages(items) -> list[Message]:
    return [Message(m["role"], m["content"]) for m in items]


def test_offline_steps_are_the_trace_verbatim_with_the_task_as_title():
    assert offline_procedure(messages(TRACE)).text() == OFFLINE_TEXT


def test_a_trace_given_as_lines_keeps_one_step_per_line_without_double_numbers():
    got = offline_procedure([Message("user", "1. Open the app\nStep 2: Tap Settings\n\n- Log out")])
    assert got.text() == "Procedure\n1. Open the app\n2. Tap Settings\n3. Log out"


def test_the_models_numbering_is_dropped_and_a_missing_title_falls_back():
    got = parse_procedure({"title": "", "steps": ["2) Do it", "  ", "Check it"]}, "The task")
    assert (got.title, got.steps) == ("The task", ["Do it", "Check it"])


@pytest.mark.parametrize("answer", [{"title": "x"}, {"title": "x", "steps": "do it"},
                                    {"title": "x", "steps": [1, 2]}, {"title": "x", "steps": [" "]},
                                    ["not", "an", "object"]])  # fmt: skip
def test_an_answer_without_usable_steps_is_refused(answer):
    with pytest.raises(ExtractionError):
        parse_procedure(answer)


def scripted(reply_for_procedure):
    """A model server answering the procedure call with ``reply_for_procedure``."""

    def handler(request):
        tool = request["tools"][0]["function"]["name"]
        assert tool == "procedure", tool  # no extraction call for a procedure
        return reply_for_procedure

    return OpenAIServer(handler)


def llm_memory(path, server) -> Memory:
    chat = OpenAIChat("test-model", base_url=server.base_url, api_key="test-key",
                      cache=path / "llm-cache.sqlite", backoff=Backoff(0.01, 0.02))  # fmt: skip
    return Memory.open(path / "data", embedder="hash", extractor=LLMExtractor(chat))


def test_one_model_call_makes_one_numbered_procedure_memory(tmp_path):
    with scripted(ok_tool_call(MODEL_ANSWER)) as server, llm_memory(tmp_path, server) as m:
        result = m.add(TRACE, agent_id="ops-bot", memory_type="procedural")
        assert len(server.requests_to("chat")) == 1 and result.usage["llm_calls"] == 1
        prompt = server.requests_to("chat")[0].body["messages"][-1]["content"]
        assert "[tool] login ok" in prompt and prompt.startswith("<trace>")
        (fact,) = result.facts
        assert (fact.text, fact.memory_type, fact.role) == (MODEL_TEXT, "procedural", "assistant")
        listed = m.get_all(agent_id="ops-bot", memory_types=["procedural"])
        assert [f.id for f in listed] == [fact.id]
        hit = m.search("how do I get the Acme invoice?", agent_id="ops-bot")[0]
        assert hit.text == MODEL_TEXT  # the procedure, not the raw trace
        # Linked to what it names, like any memory, and stating no relation.
        about = m.graph.facts_about("Acme", agent_id="ops-bot")
        assert [f.id for f in about] == [fact.id] and result.relations == []


def test_offline_the_trace_is_stored_verbatim_as_numbered_steps(tmp_path):
    with Memory.open(tmp_path, embedder="hash") as m:
        result = m.add(TRACE, agent_id="ops-bot", memory_type="procedural", importance=0.8)
        (fact,) = result.facts
        assert (fact.text, fact.memory_type, fact.importance) == (OFFLINE_TEXT, "procedural", 0.8)
        assert result.usage["llm_calls"] == 0 and result.relations == []
        assert [f.text for f in m.get_all(agent_id="ops-bot")] == [OFFLINE_TEXT]


def test_infer_false_skips_the_model_even_when_one_is_configured(tmp_path):
    with scripted(ok_tool_call(MODEL_ANSWER)) as server, llm_memory(tmp_path, server) as m:
        result = m.add(TRACE, agent_id="ops-bot", memory_type="procedural", infer=False)
        assert result.facts[0].text == OFFLINE_TEXT and server.requests_to("chat") == []


def test_a_bad_model_answer_stores_nothing(tmp_path):
    reply = ok_tool_call({"title": "x", "steps": []})
    with scripted(reply) as server, llm_memory(tmp_path, server) as m:
        with pytest.raises(ExtractionError) as err:
            m.add(TRACE, agent_id="ops-bot", memory_type="procedural")
        assert err.value.raw  # the model's text, for debugging
        assert m.stats(agent_id="ops-bot")["memories"] == 0
        assert m.history_store.events() == []


def test_a_trace_with_no_steps_or_in_a_batch_is_refused_naming_the_field(tmp_path):
    with Memory.open(tmp_path, embedder="hash") as m:
        with pytest.raises(ValidationError) as err:
            m.add("1.\n2.", agent_id="a", memory_type="procedural")
        assert err.value.field == "messages"
        with pytest.raises(ValidationError) as err:
            m.add_many([{"text": "a"}, {"text": "b"}], agent_id="a", memory_type="procedural")
        assert err.value.field == "memory_type"
        assert m.stats(agent_id="a")["memories"] == 0
