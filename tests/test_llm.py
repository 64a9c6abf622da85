"""The chat client and LLM extractor, driven through the real openai client and a local server."""

from __future__ import annotations

import json
import socket

import openai
import pytest

from graphmem.errors import ConfigError, ExtractionError, LLMError, ValidationError
from graphmem.llm.client import Backoff, OpenAIChat
from graphmem.llm.extract import Decision, LLMExtractor
from graphmem.llm.prompts import Prompts
from graphmem.models import Extraction, to_iso
from graphmem.stores.base import Extractor, KnownEntity
from graphmem.testing import (
    OpenAIServer,
    cut_off,
    delay,
    error,
    ok_content,
    ok_tool_call,
    raw_content,
)

NO_WAIT = Backoff(0, 0)

GOOD = {
    "facts": [
        {"text": "Ana works at Acme Corp since 2021-03-01.", "valid_at": "2021-03-01"},
        {"text": "Ana lives in Lisbon."},
    ],
    "entities": [
        {"name": "Ana", "type": "person"},
        {"name": "Acme Corp", "type": "organization", "aliases": ["Acme"]},
        {"name": "Lisbon", "type": "location"},
    ],
    "relations": [
        {
            "source": "Ana",
            "relation": "works_at",
            "target": "Acme",
            "fact": 0,
            "valid_at": "2021-03-01",
        },
        {"source": "ana", "relation": "lives_in", "target": "Lisbon", "fact": 1},
    ],
}


@pytest.fixture(scope="module")
def shared():
    # One server and one openai client for the module: building an openai client loads an
    # SSL context (~0.2 s), which would dominate this file's run time.
    with OpenAIServer() as srv:
        yield srv, openai.OpenAI(base_url=srv.base_url, api_key="test-key")


@pytest.fixture
def server(shared):
    srv, _ = shared
    srv.reset()
    yield srv
    srv.reset()


@pytest.fixture
def make_chat(shared):
    def build(**kwargs) -> OpenAIChat:
        kwargs.setdefault("backoff", NO_WAIT)
        kwargs.setdefault("client", shared[1])
        return OpenAIChat("test-model", **kwargs)

    return build


def extract(chat: OpenAIChat, text: str = "I work at Acme and live in Lisbon.") -> Extraction:
    return LLMExtractor(chat).extract(
        text,
        speaker="Ana",
        known=[KnownEntity("Bob", "person")],
        reference_time="2026-01-10T00:00:00Z",
    )


def test_extraction_is_parsed_from_a_forced_tool_call(server, make_chat):
    server.script(ok_tool_call(GOOD, usage=(120, 40)))
    chat = make_chat(client=None, base_url=server.base_url)  # the plain construction path
    extractor = LLMExtractor(chat)
    assert isinstance(extractor, Extractor)

    result = extract(chat)

    assert [f.text for f in result.facts][1] == "Ana lives in Lisbon."
    assert result.facts[0].valid_at == to_iso("2021-03-01")
    assert [(e.name, e.type) for e in result.entities] == [
        ("Ana", "person"),
        ("Acme Corp", "organization"),
        ("Lisbon", "location"),
    ]
    # Endpoints named by alias or in another case resolve to the listed entity name.
    assert [(r.source, r.relation, r.target, r.fact) for r in result.relations] == [
        ("Ana", "works_at", "Acme Corp", 0),
        ("Ana", "lives_in", "Lisbon", 1),
    ]
    assert result.relations[0].valid_at == to_iso("2021-03-01")

    (request,) = server.requests_to("chat")
    body = request.body
    assert body["tool_choice"] == {"type": "function", "function": {"name": "extract"}}
    assert body["tools"][0]["function"]["parameters"]["required"] == [
        "facts",
        "entities",
        "relations",
    ]
    user_text = body["messages"][-1]["content"]
    assert "Speaker: Ana" in user_text and "Bob [person]" in user_text
    assert "2026-01-10" in user_text and "I work at Acme" in user_text
    assert (chat.calls, chat.tokens_in, chat.tokens_out, chat.cache_hits) == (1, 120, 40, 0)


def test_answer_in_message_content_is_accepted(server, make_chat):
    server.script(ok_content(GOOD))
    result = extract(make_chat())
    assert len(result.facts) == 2 and len(result.relations) == 2


def test_without_tools_the_schema_goes_into_the_prompt(server, make_chat):
    server.script(ok_content("```json\n" + json.dumps(GOOD) + "\n```"))
    result = extract(make_chat(use_tools=False))
    assert len(result.entities) == 3
    body = server.requests[0].body
    assert "tools" not in body
    assert '"relations"' in body["messages"][0]["content"]


@pytest.mark.parametrize("wrap", [
    "<think>\nThe user mentions {Ana}. I should list facts as JSON.\n</think>\n\n{}",
    "Here is the extraction:\n```json\n{}\n```\nLet me know if you need more.",
    "Sure! {} I hope this helps.",
    "<think>Short.</think>```json\n{}\n```",
], ids=["think-block", "prose-and-fence", "prose-around", "think-then-fence"])  # fmt: skip
def test_an_answer_wrapped_as_other_servers_models_wrap_it_is_read(server, make_chat, wrap):
    """A reasoning model on Ollama or vLLM sends its thoughts before the JSON, and chatty
    models put a line of prose around it: each answer was an ExtractionError, so nothing
    could be added through such a server without tools."""
    server.script(raw_content(wrap.replace("{}", json.dumps(GOOD))))
    result = extract(make_chat(use_tools=False))
    assert len(result.facts) == 2 and len(result.relations) == 2


def test_a_refused_temperature_is_dropped_and_stays_dropped(server, make_chat):
    """OpenAI's reasoning models refuse any temperature but their default: every add
    through them was an LLMError, and no setting of Config could change the temperature."""
    said = ("Unsupported value: 'temperature' does not support 0 with this model. Only the "
            "default (1) value is supported.")  # fmt: skip
    server.script(error(400, said), ok_tool_call(GOOD), ok_tool_call(GOOD))
    chat = make_chat()
    assert len(extract(chat).facts) == 2
    first, second = server.requests_to("chat")[:2]
    assert first.body["temperature"] == 0 and "temperature" not in second.body
    assert second.body["tool_choice"]["function"]["name"] == "extract"  # tools kept
    extract(chat)  # the next call is sent without it from the start
    assert "temperature" not in server.requests_to("chat")[2].body
    assert chat.calls == 3


@pytest.mark.parametrize("said", [
    "registry.ollama.ai/library/gemma:2b does not support tools",
    "tools param requires --jinja flag",
    "tool_choice is not supported by this server",
])  # fmt: skip
def test_a_server_that_refuses_tools_is_asked_with_the_schema_in_the_prompt(server, make_chat,
                                                                              said):  # fmt: skip
    """A server without tool calling refused every add; its advice, use_tools=False, was
    an argument of OpenAIChat that Memory.open and the CLI could not pass."""
    server.script(error(400, said), ok_content(GOOD), ok_content(GOOD))
    chat = make_chat()
    assert len(extract(chat).relations) == 2
    first, second = server.requests_to("chat")[:2]
    assert "tools" in first.body and "tools" not in second.body
    assert '"relations"' in second.body["messages"][0]["content"]  # the schema, as text
    extract(chat)
    assert "tools" not in server.requests_to("chat")[2].body


def test_a_refusal_naming_neither_is_not_asked_again(server, make_chat):
    """A context-length refusal counts tokens "in the functions": no reason to drop them."""
    server.script(error(400, "This model's maximum context length is 8192 tokens, including "
                             "300 in the functions."), ok_tool_call(GOOD))  # fmt: skip
    with pytest.raises(LLMError, match="maximum context length"):
        extract(make_chat())
    assert len(server.requests_to("chat")) == 1


@pytest.mark.parametrize(
    "failure",
    [error(429), error(500), error(503), delay(5.0)],
    ids=["rate-limit", "500", "503", "timeout"],
)
def test_transient_failures_are_retried_then_succeed(server, make_chat, failure):
    server.script(failure, ok_tool_call(GOOD))
    chat = make_chat(timeout=0.5)

    result = extract(chat)

    assert len(result.facts) == 2
    assert len(server.requests_to("chat")) == 2
    assert chat.calls == 2


def test_retries_give_up_with_an_error_naming_endpoint_and_status(server, make_chat):
    server.script(error(500), error(500), error(500), ok_tool_call(GOOD))
    chat = make_chat(max_retries=2)

    with pytest.raises(LLMError) as info:
        extract(chat)

    assert len(server.requests_to("chat")) == 3  # 1 try + 2 retries, never the 4th
    message = str(info.value)
    assert server.base_url in message and "chat/completions" in message
    assert "HTTP 500" in message and "3 attempts" in message
    assert not isinstance(info.value, ExtractionError)


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_client_errors_are_not_retried(server, make_chat, status):
    server.script(error(status, "nope"), ok_tool_call(GOOD))
    chat = make_chat()

    with pytest.raises(LLMError) as info:
        extract(chat)

    assert len(server.requests_to("chat")) == 1
    assert f"HTTP {status}" in str(info.value) and "nope" in str(info.value)
    assert server.pending() == 1


def test_unreachable_server_is_an_llm_error_saying_what_to_check():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    chat = OpenAIChat("m", base_url=f"http://127.0.0.1:{port}/v1", max_retries=1, backoff=NO_WAIT)
    with pytest.raises(LLMError, match="could not connect: check base_url"):
        extract(chat)
    assert chat.calls == 2


def test_an_answer_cut_off_mid_body_is_not_called_a_failed_connection(server, make_chat):
    """A server or proxy that dies mid-answer: the connection was made, so "check
    base_url" sent users after the wrong thing. It is retried like a dropped connection."""
    server.script(cut_off(), cut_off())
    with pytest.raises(LLMError) as info:
        extract(make_chat(max_retries=1))
    message = str(info.value)
    assert "broke off before a whole answer came back" in message, message
    assert "could not connect" not in message and "check base_url" not in message
    assert len(server.requests_to("chat")) == 2
    server.script(cut_off(), ok_tool_call(GOOD))
    assert len(extract(make_chat(max_retries=1)).facts) == 2


@pytest.mark.parametrize(
    "reply, raw",
    [
        (raw_content("not json"), "not json"),
        (ok_tool_call('{"facts": ['), '{"facts": ['),
        (ok_tool_call("[1, 2]"), "[1, 2]"),
    ],
    ids=["content-not-json", "arguments-truncated", "not-an-object"],
)
def test_unparsable_output_raises_extraction_error_with_raw(server, make_chat, reply, raw):
    server.script(reply)
    with pytest.raises(ExtractionError) as info:
        extract(make_chat())
    assert info.value.raw == raw
    assert len(server.requests) == 1  # a bad answer is not retried


def _with(**changes):
    answer = json.loads(json.dumps(GOOD))
    for path, value in changes.items():
        section, _, rest = path.partition("__")
        if not rest:
            if value is None:
                del answer[section]
            else:
                answer[section] = value
            continue
        index, _, key = rest.partition("__")
        answer[section][int(index)][key] = value
    return answer


@pytest.mark.parametrize(
    "answer, where",
    [
        (_with(relations=None), "relations: missing"),
        (_with(facts="Ana works at Acme"), "facts: must be a list"),
        (_with(facts__0__text=42), "facts[0].text"),
        (_with(entities__1__name=""), "entities[1].name"),
        (_with(entities__1__aliases="Acme"), "entities[1].aliases"),
        (_with(relations__0__target="Globex"), "relations[0].target"),
        (_with(relations__1__fact=2), "relations[1].fact: 2 is out of range"),
        (_with(relations__1__fact=True), "relations[1].fact"),
        (_with(relations__1__fact="1"), "relations[1].fact"),
        (
            _with(relations__0__relation="works_at]->(x) DETACH DELETE x //"),
            "relations[0].relation",
        ),
        (_with(relations__0__valid_at="last spring"), "relations[0].valid_at"),
    ],
    ids=[
        "missing-list",
        "list-is-string",
        "text-not-string",
        "empty-name",
        "aliases-string",
        "unknown-entity",
        "fact-out-of-range",
        "fact-bool",
        "fact-string",
        "injected-relation-name",
        "bad-date",
    ],
)
def test_schema_violations_raise_extraction_error_with_raw(
    server, make_chat, tmp_path, answer, where
):
    server.script(ok_tool_call(answer))
    chat = make_chat(cache=tmp_path / "llm.sqlite")

    with pytest.raises(ExtractionError) as info:
        extract(chat)

    assert where in str(info.value)
    assert json.loads(info.value.raw) == answer
    assert len(chat.cache) == 0  # a rejected answer must not be served again from cache


def test_relation_to_a_known_entity_adds_it_and_odd_types_become_other(server, make_chat):
    answer = _with(entities__2__type="city", relations__1__target="bobby")
    server.script(ok_tool_call(answer))
    chat = make_chat()
    result = LLMExtractor(chat).extract(
        "I live with Bob.", speaker="Ana", known=[KnownEntity("Bob", "person", ["Bobby"])]
    )
    assert result.relations[1].target == "Bob"
    assert ("Bob", "person") in [(e.name, e.type) for e in result.entities]
    assert [e.type for e in result.entities if e.name == "Lisbon"] == ["other"]


def test_empty_text_is_refused_before_any_request(server, make_chat):
    with pytest.raises(ValidationError):
        LLMExtractor(make_chat()).extract("   ")
    assert server.requests == []


def test_cache_hit_sends_no_request_and_survives_a_new_client(server, make_chat, tmp_path):
    path = tmp_path / "cache" / "llm.sqlite"
    server.script(ok_tool_call(GOOD), ok_tool_call(GOOD))
    chat = make_chat(cache=path)

    first = extract(chat)
    before = chat.snapshot()
    second = extract(chat)
    spent = chat.snapshot() - before

    assert first == second
    assert len(server.requests) == 1
    assert (spent.calls, spent.cache_hits, spent.tokens_in) == (0, 1, 0)

    chat.cache.close()
    again = make_chat(cache=path)
    assert extract(again) == first
    assert (again.calls, again.cache_hits) == (0, 1)
    assert len(server.requests) == 1

    extract(again, "Something else entirely.")  # another prompt is another key
    assert len(server.requests) == 2


def test_no_cache_means_every_call_is_sent(server, make_chat):
    server.script(ok_tool_call(GOOD), ok_tool_call(GOOD))
    chat = make_chat()
    extract(chat)
    extract(chat)
    assert (chat.calls, chat.cache_hits) == (2, 0)


def test_an_openai_key_in_the_environment_is_not_sent_to_another_host(server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    server.script(ok_tool_call(GOOD))
    extract(OpenAIChat("m", base_url=server.base_url))
    assert "sk-secret" not in server.requests[0].headers.get("authorization", "")


def test_bad_settings_are_config_errors():
    with pytest.raises(ConfigError):
        OpenAIChat("", base_url="http://127.0.0.1:1/v1")
    with pytest.raises(ConfigError):
        OpenAIChat("m", base_url="http://127.0.0.1:1/v1", max_retries=-1)


# --- decide ---------------------------------------------------------------------------

EXISTING = [("mem-a1", "Ana lives in Paris."), ("mem-b2", "Ana likes tea.")]


def test_decide_maps_short_ids_back_to_real_ids(server, make_chat):
    server.script(
        ok_tool_call(
            {
                "decisions": [
                    {"event": "UPDATE", "id": "0", "text": "Ana lives in Berlin."},
                    {"event": "NONE", "id": 1, "text": "Ana likes tea."},
                    {"event": "ADD", "id": None, "text": "Ana has a cat."},
                ]
            }
        )
    )
    extractor = LLMExtractor(make_chat())

    decisions = extractor.decide(
        ["Ana moved to Berlin.", "Ana enjoys tea.", "Ana has a cat."], EXISTING
    )

    assert decisions == [
        Decision("UPDATE", "mem-a1", "Ana lives in Berlin.", "Ana lives in Paris."),
        Decision("NONE", "mem-b2", "Ana likes tea.", "Ana likes tea."),
        Decision("ADD", None, "Ana has a cat."),
    ]
    prompt = json.dumps(server.requests[0].body["messages"])
    assert "mem-a1" not in prompt and "mem-b2" not in prompt  # the model never sees real ids
    assert server.requests[0].body["tool_choice"]["function"]["name"] == "decide"


@pytest.mark.parametrize("bad_id", ["2", "mem-a1", None, "-1", True])
def test_decide_rejects_ids_it_was_not_given(server, make_chat, bad_id):
    answer = {"decisions": [{"event": "DELETE", "id": bad_id, "text": "x"}]}
    server.script(ok_tool_call(answer))
    with pytest.raises(ExtractionError) as info:
        LLMExtractor(make_chat()).decide(["Ana left Paris."], EXISTING)
    assert json.loads(info.value.raw) == answer


def test_decide_rejects_unknown_events_and_double_changes(server, make_chat):
    server.script(
        ok_tool_call({"decisions": [{"event": "MERGE", "id": "0", "text": "x"}]}),
        ok_tool_call(
            {
                "decisions": [
                    {"event": "UPDATE", "id": "0", "text": "a"},
                    {"event": "DELETE", "id": "0", "text": "b"},
                ]
            }
        ),
    )
    extractor = LLMExtractor(make_chat())
    with pytest.raises(ExtractionError, match="MERGE"):
        extractor.decide(["x"], EXISTING)
    with pytest.raises(ExtractionError, match="already has a UPDATE"):
        extractor.decide(["y"], EXISTING)


def test_decide_with_nothing_stored_adds_without_a_call(server, make_chat):
    extractor = LLMExtractor(make_chat())
    assert extractor.decide(["a", "b"], []) == [
        Decision("ADD", None, "a"),
        Decision("ADD", None, "b"),
    ]
    assert extractor.decide([], EXISTING) == []
    assert server.requests == []


def test_prompts_can_be_replaced(server, make_chat):
    server.script(ok_tool_call(GOOD))
    mine = Prompts(extraction_system="Be brief.", extraction_user=lambda text, **_: f"TEXT={text}")
    LLMExtractor(make_chat(), prompts=mine).extract("hello there")
    messages = server.requests[0].body["messages"]
    assert messages == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "TEXT=hello there"},
    ]


def test_fallback_handler_answers_when_the_script_is_empty():
    seen = []

    def handler(request):
        seen.append(request["model"])
        return GOOD

    with OpenAIServer(handler) as srv:
        result = extract(OpenAIChat("test-model", base_url=srv.base_url))
    assert seen == ["test-model"] and len(result.relations) == 2
