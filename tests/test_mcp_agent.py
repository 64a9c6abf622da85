"""An agent with graphmem as its MCP memory, end to end: a scripted model behind the local
OpenAI-compatible server picks the tools, the real ``openai`` client carries its calls,
the official ``mcp`` client runs them on ``graphmem mcp`` (a subprocess). Two separate
conversations, each with a fresh server process: the second recalls what the first told."""

from __future__ import annotations

import json

import anyio
from mcp_helpers import stdio_client, text_of
from openai import AsyncOpenAI

from graphmem.testing.openai_server import OpenAIServer, ok_content, ok_tool_call

SYSTEM = "You are a helpful assistant with a long-term memory (tools remember and recall)."


def scripted_model(request: dict) -> object:
    """Plays the model: remembers statements, recalls before answering questions, and
    answers from the first memory recall returned (or says it does not know)."""
    offered = {t["function"]["name"] for t in request.get("tools", [])}
    assert {"remember", "recall"} <= offered
    last = request["messages"][-1]
    if last["role"] == "user":
        said = last["content"]
        if said.rstrip().endswith("?"):
            return ok_tool_call({"query": said, "limit": 3}, name="recall")
        return ok_tool_call({"text": said}, name="remember")
    if last["role"] == "tool":
        asked = next(m for m in reversed(request["messages"]) if m["role"] == "user")
        if not asked["content"].rstrip().endswith("?"):
            return ok_content("Noted, I will remember that.")
        first = last["content"].splitlines()[0]
        if not first.startswith("1. "):
            return ok_content("I don't know yet.")
        return ok_content("From what you told me: " + first[3:].split("  (id ")[0])
    return ok_content("...")


async def converse(memory, llm: AsyncOpenAI, said: str) -> tuple[str, list[str]]:
    """One conversation turn with as many tool rounds as the model asks for; returns
    the answer and the names of the tools it called."""
    tools = [{"type": "function", "function": {"name": t.name, "description": t.description,
                                               "parameters": t.input_schema}}
             for t in (await memory.list_tools()).tools]  # fmt: skip
    messages: list[dict] = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": said},
    ]
    called = []
    for _ in range(4):
        reply = await llm.chat.completions.create(model="scripted", messages=messages, tools=tools)
        message = reply.choices[0].message
        if not message.tool_calls:
            return message.content or "", called
        messages.append(message.model_dump(exclude_none=True))
        for tool_call in message.tool_calls:
            called.append(tool_call.function.name)
            result = await memory.call_tool(tool_call.function.name,
                                            json.loads(tool_call.function.arguments))  # fmt: skip
            assert not result.is_error, text_of(result)
            messages.append({"role": "tool", "tool_call_id": tool_call.id,
                             "content": text_of(result)})  # fmt: skip
    raise AssertionError("the model kept calling tools")


def test_second_conversation_recalls_a_fact_from_the_first(tmp_path):
    async def scenario(server: OpenAIServer):
        llm = AsyncOpenAI(base_url=server.base_url, api_key="test-key", max_retries=0)
        async with stdio_client(tmp_path, "--user", "dana") as memory:
            before, _ = await converse(memory, llm, "Where does my sister live?")
            answer, called = await converse(memory, llm, "My sister Carol lives in Rome.")
            assert called == ["remember"] and answer.startswith("Noted")
        async with stdio_client(tmp_path, "--user", "dana") as memory:  # a new session
            later, called = await converse(memory, llm, "Where does my sister live?")
        await llm.close()
        return before, later, called

    with OpenAIServer(handler=scripted_model) as server:
        before, later, called = anyio.run(scenario, server)
        asked = [r.body["messages"] for r in server.requests_to("chat")]
    assert before == "I don't know yet."  # nothing stored at first
    assert called == ["recall"]
    assert "Rome" in later and "Carol" in later
    # The question never named Rome: the recall result fed to the model did.
    last_turn = asked[-1]
    assert all("Rome" not in m["content"] for m in last_turn if m["role"] == "user")
    assert any("Rome" in m["content"] for m in last_turn if m["role"] == "tool")
