"""The chat client: structured answers from any OpenAI-compatible endpoint, with retries.

Only this module, ``calls.py`` (the client, retries and errors it shares with the
embedder) and ``graphmem.embed.openai`` import ``openai``; every failure leaves as a
graphmem ``LLMError`` whose message names the endpoint, the status and what to do next.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import openai

from ..errors import ConfigError, ExtractionError, LLMError
from .cache import LLMCache, cache_key, open_cache
from .calls import (
    Backoff,
    Counted,
    Counters,
    Usage,
    make_openai_client,
    not_openai_compatible,
    whole_deadline,
)

__all__ = ["Backoff", "OpenAIChat", "Usage"]  # Backoff and Usage: read from here by callers
T = TypeVar("T")
log = logging.getLogger(__name__)

# --- the chat client ------------------------------------------------------------------


class OpenAIChat(Counted):
    """Structured answers from a chat model, through a forced tool call.

    ``use_tools=False`` is for servers without tool calling: the schema goes into the
    system message and the answer is read from the message content. Either way a JSON
    object in the content is accepted when a model ignores the forced tool.
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 30.0,
        deadline: float | None = None,
        max_retries: int = 4,
        cache: LLMCache | str | os.PathLike[str] | None = None,
        client: openai.OpenAI | None = None,
        backoff: Backoff | None = None,
        use_tools: bool = True,
        temperature: float | None = 0.0,
    ) -> None:
        if not isinstance(model, str) or not model.strip():
            raise ConfigError("model must be a non-empty model name")
        if max_retries < 0:
            raise ConfigError(f"max_retries must be 0 or more, got {max_retries}")
        deadline = whole_deadline(timeout, deadline)
        self.model = model
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff or Backoff()
        self.use_tools = use_tools
        self.temperature = temperature
        self.cache = open_cache(cache)
        self._last = threading.local()  # this thread's last answer's cache key (forget_last)
        self._client = make_openai_client(
            base_url=base_url, api_key=api_key, timeout=timeout, client=client, deadline=deadline
        )
        self._counters = Counters()

    @property
    def endpoint(self) -> str:
        return f"POST {str(self._client.base_url).rstrip('/')}/chat/completions"

    def complete_json(
        self,
        messages: Sequence[Mapping[str, Any]],
        schema: Mapping[str, Any],
        *,
        name: str = "answer",
        description: str = "",
        parse: Callable[[dict[str, Any]], T] | None = None,
    ) -> T | dict[str, Any]:
        """Ask for one JSON object matching ``schema``; return ``parse(obj)`` (or ``obj``).

        ``parse`` validates and converts; it raises ``ExtractionError`` for a bad answer.
        Answers are cached only after ``parse`` accepted them.
        """
        convert: Callable[[dict[str, Any]], Any] = parse or (lambda obj: obj)
        messages = [dict(m) for m in messages]
        if not self.use_tools:
            messages = _with_schema_instruction(messages, schema)
        key = cache_key(self.model, messages, schema, name if self.use_tools else "")
        self._last.key = key
        cached = self.cache.get(key)
        if cached is not None:
            self._counters.add(cache_hits=1)
            return _convert(convert, cached, json.dumps(cached, ensure_ascii=False))
        obj, raw = self._request(messages, schema, name, description)
        result = _convert(convert, obj, raw)
        self.cache.put(key, obj, model=self.model)
        return result

    def forget_last(self) -> None:
        """Drop this thread's last answer from the cache: the caller refused it (over its
        limits), and a cached refusal was served again on every later try of that text,
        the model never asked again."""
        key = getattr(self._last, "key", None)
        if key is not None:
            self.cache.delete(key)
            self._last.key = None

    def _kwargs(
        self, messages: list[dict[str, Any]], schema: Mapping[str, Any], name: str,
        description: str,
    ) -> dict[str, Any]:  # fmt: skip
        kwargs: dict[str, Any] = {"model": self.model, "messages": messages}
        if self.temperature is not None:  # None: reasoning models refuse the parameter
            kwargs["temperature"] = self.temperature
        if self.use_tools:
            function: dict[str, Any] = {"name": name, "parameters": dict(schema)}
            if description:
                function["description"] = description
            kwargs["tools"] = [{"type": "function", "function": function}]
            kwargs["tool_choice"] = {"type": "function", "function": {"name": name}}
        return kwargs

    def _request(
        self,
        messages: list[dict[str, Any]],
        schema: Mapping[str, Any],
        name: str,
        description: str,
    ) -> tuple[dict[str, Any], str]:
        for _ in range(3):  # a refused temperature, then refused tools, each dropped once
            kwargs = self._kwargs(messages, schema, name, description)
            try:
                completion = self._retried(
                    functools.partial(self._client.chat.completions.create, **kwargs)
                )
                break
            except LLMError as exc:
                refused = _refused_parameter(exc, kwargs)
                if refused is None:
                    raise
                log.warning("%s refused the request's %s; asking without it, now and from now "
                            "on", self.endpoint, refused)  # fmt: skip
                if refused == "temperature":
                    self.temperature = None
                else:
                    self.use_tools = False
                    messages = _with_schema_instruction(messages, schema)
        choice, message = _first_choice(completion, self.endpoint)
        usage = getattr(completion, "usage", None)
        if usage is not None:
            self._counters.add(
                tokens_in=_count(usage, "prompt_tokens"),
                tokens_out=_count(usage, "completion_tokens"),
            )
        tool_calls = getattr(message, "tool_calls", None) or []
        function = getattr(tool_calls[0], "function", None) if tool_calls else None
        if function is not None:
            raw = getattr(function, "arguments", None) or ""
        else:
            raw = getattr(message, "content", None) or ""
        if not isinstance(raw, str):
            raise not_openai_compatible(self.endpoint, f"its answer text is a {type(raw).__name__}")
        refusal = getattr(message, "refusal", None)
        if not raw and refusal:
            raise ExtractionError(f"the model refused to answer: {refusal}", raw=refusal)
        return _parse_object(raw, truncated=getattr(choice, "finish_reason", None) == "length"), raw


def _refused_parameter(exc: LLMError, sent: Mapping[str, Any]) -> str | None:
    """ "temperature" or "tools" when the server refused the request (400, 422) naming a
    parameter graphmem can do without, else None. OpenAI's reasoning models take no
    temperature but their default ("Unsupported value: 'temperature' does not support 0
    with this model"); Ollama's models without tool calling ("does not support tools"),
    llama.cpp without --jinja, and some proxies refuse tools. Either was an LLMError on
    every add, whose advice (``use_tools=False``) no setting of ``Config`` could follow."""
    cause = exc.__cause__
    if not isinstance(cause, openai.APIStatusError) or cause.status_code not in (400, 422):
        return None
    said = f"{cause.message} {cause.body}".casefold()
    if "temperature" in sent and "temperature" in said:
        return "temperature"
    if "tools" in sent and _TOOLS_REFUSED.search(said):
        return "tools"
    return None


# How servers say they take no tools. Not any mention of "tool" or "function": OpenAI's
# context-length refusal counts the tokens "in the functions".
_TOOLS_REFUSED = re.compile(
    r"tool[ _-]?choice|tool[ _-]?call|tool use|tools? (?:are|is) not supported|not support(?:ed)?"
    r" (?:for )?tools|support tools|--jinja|tools param|function[ _-]?call"
)


def _first_choice(completion: Any, endpoint: str) -> tuple[Any, Any]:
    """``choices[0]`` and its message, or an ``LLMError`` when the answer is not a chat
    completion at all: a server answering 200 with an HTML page came back as a plain
    string, and reading ``.choices`` raised AttributeError."""
    if isinstance(completion, str | bytes):
        start = completion[:60].strip() if isinstance(completion, str) else "bytes"
        raise not_openai_compatible(endpoint, f"it sent text starting {start!r}")
    choices = getattr(completion, "choices", None)
    if choices is None:
        raise not_openai_compatible(endpoint, "no 'choices' in its answer")
    if not isinstance(choices, list) or not choices:
        raise LLMError(f"{endpoint} answered with no choices; check the server")
    message = getattr(choices[0], "message", None)
    if message is None:
        raise not_openai_compatible(endpoint, "choices[0] holds no message")
    return choices[0], message


def _count(usage: Any, name: str) -> int:
    value = getattr(usage, name, None)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _convert(convert: Callable[[dict[str, Any]], Any], obj: dict[str, Any], raw: str) -> Any:
    try:
        return convert(obj)
    except ExtractionError as exc:
        # Validators see the parsed object; the caller needs the text the model really sent.
        exc.raw = raw
        raise


def _with_schema_instruction(
    messages: list[dict[str, Any]], schema: Mapping[str, Any]
) -> list[dict[str, Any]]:
    instruction = (
        "Answer with exactly one JSON object, no prose, matching this JSON schema:\n"
        + json.dumps(schema, ensure_ascii=False)
    )
    if messages and messages[0].get("role") == "system":
        first = dict(messages[0])
        first["content"] = f"{first.get('content', '')}\n\n{instruction}"
        return [first, *messages[1:]]
    return [{"role": "system", "content": instruction}, *messages]


def _parse_object(raw: str, *, truncated: bool = False) -> dict[str, Any]:
    """The JSON object in ``raw``. Tolerates what models served by other OpenAI-compatible
    servers put around it: a reasoning model's ``<think>...</think>`` before it (Ollama and
    vLLM send it in the content unless told not to), a Markdown code fence, and a line of
    prose before or after it ("Here is the JSON: ..."). Each was an ExtractionError."""
    text = _THINKING.sub("", raw, count=1).strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0].strip()
    hint = " (the answer was cut off: the model hit its token limit)" if truncated else ""
    if not text:
        raise ExtractionError(f"the model returned an empty answer{hint}", raw=raw)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        value = _object_within(text)
        if value is None:
            raise ExtractionError(
                f"the model's answer is not valid JSON: {exc}{hint}", raw=raw
            ) from None
    except (ValueError, RecursionError) as exc:  # an integer of 5,000 digits, 100k nesting
        raise ExtractionError(f"the model's answer cannot be read as JSON: {exc}{hint}",
                              raw=raw) from None  # fmt: skip
    if not isinstance(value, dict):
        raise ExtractionError(
            f"the model's answer is JSON but not an object (got {type(value).__name__})", raw=raw
        )
    return value


# A reasoning model's thoughts, sent before its answer.
_THINKING = re.compile(r"^\s*<(think|thinking|reasoning)>.*?</\1>", re.DOTALL | re.IGNORECASE)
_MOST_TRIES = 20  # fenced blocks, and "{" tried as an object's start: prose holds few


def _fenced(text: str) -> list[str]:
    """The insides of the first fenced blocks, less a language tag ("```json"). Split,
    not searched for: a regex over an answer of many unclosed fences went quadratic."""
    parts = text.split("```", 2 * _MOST_TRIES + 1)[1 : 2 * _MOST_TRIES : 2]
    blocks = []
    for part in parts:
        tag, _, rest = part.partition("\n")
        blocks.append(rest if tag.strip().isalpha() or not tag.strip() else part)
    return blocks


def _object_within(text: str) -> dict[str, Any] | None:
    """The JSON object in prose: a fenced block's, else the first one that starts at a
    "{" and reads whole. None if there is none."""
    decoder = json.JSONDecoder()
    for block in _fenced(text):
        try:
            value = json.loads(block)
        except (ValueError, RecursionError):
            continue
        if isinstance(value, dict):
            return value
    start = text.find("{")
    for _ in range(_MOST_TRIES):
        if start < 0:
            return None
        try:
            value, _end = decoder.raw_decode(text, start)
        except (ValueError, RecursionError):
            value = None
        if isinstance(value, dict):
            return value
        start = text.find("{", start + 1)
    return None
