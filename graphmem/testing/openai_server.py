"""A scripted OpenAI-compatible HTTP server on 127.0.0.1, so tests run the real ``openai`` client.

Mocking the client would skip the code that breaks in production: request encoding, status
codes turned into exception classes, timeouts, and response parsing. This server speaks the
wire format instead::

    with OpenAIServer() as server:
        server.script(error(429), ok_tool_call({"facts": [], "entities": [], "relations": []}))
        chat = OpenAIChat("test-model", base_url=server.base_url)
        ...
        assert len(server.requests_to("chat")) == 2

Each endpoint has its own queue of scripted replies, consumed one per request. When a queue
is empty, chat requests go to ``handler(request_json)`` and embedding requests are answered
with deterministic bag-of-words vectors (texts sharing words get a positive cosine).
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import threading
import time
from array import array
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Body = Any  # a dict/list sent as JSON, a str sent verbatim, or a callable(request_json) -> either


@dataclass
class Reply:
    """One scripted answer: wait ``delay`` seconds, then send ``status`` and ``body``.

    ``then`` (for delays) is the answer sent after waiting; None means "whatever the
    handler or default would have sent".
    """

    status: int = 200
    body: Body = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    then: Reply | None = None
    cut_after: int | None = None  # bytes of the body sent before the connection is closed
    drip_s: float = 0.0  # > 0: the body is sent a byte at a time, this many seconds apart


@dataclass
class RecordedRequest:
    path: str
    body: Any
    headers: dict[str, str]

    @property
    def endpoint(self) -> str:
        return _endpoint_of(self.path) or self.path


Handler = Callable[[dict[str, Any]], "Reply | dict[str, Any]"]


# --- reply builders -------------------------------------------------------------------


def ok_tool_call(
    arguments: Mapping[str, Any] | str,
    *,
    name: str | None = None,
    usage: tuple[int, int] | None = None,
) -> Reply:
    """A completion whose single tool call carries ``arguments`` (a dict, or raw text).

    The tool name defaults to the one the request forced or offered first.
    """
    args_text = arguments if isinstance(arguments, str) else json.dumps(arguments)

    def render(request: dict[str, Any]) -> dict[str, Any]:
        tool = name or _requested_tool(request) or "answer"
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": f"call_{hashlib.sha1(args_text.encode()).hexdigest()[:12]}",
                    "type": "function",
                    "function": {"name": tool, "arguments": args_text},
                }
            ],
        }
        return _completion(request, message, "tool_calls", args_text, usage)

    return Reply(body=render)


def ok_content(value: Mapping[str, Any] | str, *, usage: tuple[int, int] | None = None) -> Reply:
    """A completion answering in message content (a dict is sent as its JSON text)."""
    text = value if isinstance(value, str) else json.dumps(value)

    def render(request: dict[str, Any]) -> dict[str, Any]:
        message = {"role": "assistant", "content": text}
        return _completion(request, message, "stop", text, usage)

    return Reply(body=render)


def raw_content(text: str) -> Reply:
    """A completion whose content is ``text`` verbatim, e.g. something that is not JSON."""
    return ok_content(text)


def error(status: int, message: str = "", *, headers: Mapping[str, str] | None = None) -> Reply:
    """An OpenAI-style error body with the given HTTP status."""
    kinds = {
        400: "invalid_request_error",
        401: "authentication_error",
        404: "not_found_error",
        429: "rate_limit_error",
    }
    kind = kinds.get(status, "server_error" if status >= 500 else "invalid_request_error")
    body = {
        "error": {
            "message": message or f"scripted error {status}",
            "type": kind,
            "param": None,
            "code": str(status),
        }
    }
    return Reply(status=status, body=body, headers=dict(headers or {}))


def delay(seconds: float, then: Reply | None = None) -> Reply:
    """Wait ``seconds`` before answering: longer than the client timeout forces a timeout."""
    return Reply(delay=seconds, then=then)


def cut_off(after: int = 16, reply: Reply | None = None) -> Reply:
    """Send ``reply``'s status and headers (its full length announced), then only the
    first ``after`` bytes of its body, and close the connection: a server or proxy that
    dies mid-answer. The client sees a broken response, not a refused connection."""
    return _sent_badly(reply, cut_after=after)


def trickle(every_s: float = 0.2, reply: Reply | None = None) -> Reply:
    """Send ``reply``'s status and headers at once, then its body a byte every
    ``every_s`` seconds: a server or proxy that keeps a connection busy without ever
    finishing its answer. Each byte comes well within a client's read timeout."""
    return _sent_badly(reply, drip_s=every_s)


def _sent_badly(reply: Reply | None, **how: Any) -> Reply:
    """``reply`` (default: an extraction that found nothing) with the way it is sent."""
    base = reply or ok_content({"facts": [], "entities": [], "relations": []})
    return Reply(status=base.status, body=base.body, headers=dict(base.headers), **how)


def embeddings_reply(vectors: list[list[float]]) -> Reply:
    """An embeddings answer carrying exactly these vectors (e.g. to test dimension checks)."""

    def render(request: dict[str, Any]) -> dict[str, Any]:
        return _embedding_body(request, vectors)

    return Reply(body=render)


# --- deterministic embeddings ---------------------------------------------------------

_WORD = re.compile(r"\w+")


@lru_cache(maxsize=65536)
def _word_vector(word: str, dim: int) -> tuple[float, ...]:
    seed = int.from_bytes(hashlib.sha256(word.encode()).digest()[:8], "big")
    rng = random.Random(seed)
    return tuple(rng.gauss(0.0, 1.0) for _ in range(dim))


def hash_embedding(text: str, dim: int) -> list[float]:
    """A unit vector: the normalised sum of one pseudo-random vector per lower-cased word."""
    words = _WORD.findall(text.casefold()) or [text]
    total = [0.0] * dim
    for word in words:
        for i, value in enumerate(_word_vector(word, dim)):
            total[i] += value
    norm = sum(v * v for v in total) ** 0.5 or 1.0
    return [v / norm for v in total]


# --- the server -----------------------------------------------------------------------


class OpenAIServer:
    """Scripted ``/v1/chat/completions`` and ``/v1/embeddings`` on a free local port."""

    def __init__(self, handler: Handler | None = None, *, dim: int = 64) -> None:
        self.handler = handler
        self.dim = dim
        self.requests: list[RecordedRequest] = []
        self._queues: dict[str, deque[Reply]] = {"chat": deque(), "embeddings": deque()}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle
    def start(self) -> OpenAIServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler_class(self))
        self._httpd.daemon_threads = True
        # A short poll interval keeps stop() (and so each test's teardown) fast.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="graphmem-openai-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()  # wakes handlers sleeping in a scripted delay
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError(
                "the server is not running: use it as a context manager or call start()"
            )
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    # scripting
    def script(self, *replies: Reply, endpoint: str = "chat") -> None:
        """Queue replies for ``endpoint`` ("chat" or "embeddings"), answered in order."""
        if endpoint not in self._queues:
            raise ValueError(f"endpoint must be 'chat' or 'embeddings', got {endpoint!r}")
        with self._lock:
            self._queues[endpoint].extend(replies)

    def pending(self, endpoint: str = "chat") -> int:
        """Scripted replies not consumed yet."""
        with self._lock:
            return len(self._queues[endpoint])

    def requests_to(self, endpoint: str) -> list[RecordedRequest]:
        """Recorded requests for "chat" or "embeddings", oldest first."""
        with self._lock:
            return [r for r in self.requests if r.endpoint == endpoint]

    def reset(self) -> None:
        """Forget recorded requests and scripted replies."""
        with self._lock:
            self.requests.clear()
            for queue in self._queues.values():
                queue.clear()

    # request handling (called from the server's worker threads)
    def _answer(self, path: str, body: Any, headers: dict[str, str]) -> tuple[Reply, Any]:
        endpoint = _endpoint_of(path)
        with self._lock:
            self.requests.append(RecordedRequest(path=path, body=body, headers=headers))
            scripted = (
                self._queues[endpoint].popleft() if endpoint and self._queues[endpoint] else None
            )
        if endpoint is None:
            return error(404, f"unknown path {path}"), body
        if not isinstance(body, dict):
            return error(400, "request body must be a JSON object"), body
        reply = scripted
        while reply is not None and reply.delay > 0:
            if self._stopping.wait(reply.delay):
                return error(503, "server stopping"), body
            reply = reply.then
        if reply is None:
            reply = self._fallback(endpoint, body)
        return reply, body

    def _fallback(self, endpoint: str, body: dict[str, Any]) -> Reply:
        if endpoint == "embeddings":
            return self._embed(body)
        if self.handler is None:
            # 400, not 5xx: a missing script is a test bug and must not be retried into noise.
            return error(400, "graphmem test server: no scripted reply and no handler for chat")
        answer = self.handler(body)
        if isinstance(answer, Reply):
            return answer
        if isinstance(answer, dict):
            return ok_tool_call(answer) if body.get("tools") else ok_content(answer)
        raise TypeError(f"handler must return a Reply or a dict, got {type(answer).__name__}")

    def _embed(self, body: dict[str, Any]) -> Reply:
        texts = body.get("input")
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, list) or not all(isinstance(t, str) and t for t in texts):
            return error(400, "input must be a non-empty string or a list of non-empty strings")
        dim = body.get("dimensions") or self.dim
        return embeddings_reply([hash_embedding(t, dim) for t in texts])


def _make_handler_class(server: OpenAIServer) -> type[BaseHTTPRequestHandler]:
    class _RequestHandler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body: Any = json.loads(raw or b"null")
            except json.JSONDecodeError:
                body = raw.decode("utf-8", "replace")
            headers = {k.lower(): v for k, v in self.headers.items()}
            reply, request = server._answer(self.path, body, headers)
            payload = reply.body(request) if callable(reply.body) else reply.body
            if isinstance(payload, str):
                data, ctype = payload.encode(), "text/plain; charset=utf-8"
            else:
                data, ctype = json.dumps(payload).encode(), "application/json"
            given = {k.lower(): v for k, v in reply.headers.items()}
            ctype = given.pop("content-type", ctype)  # e.g. a proxy's text/html error page
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for key, value in given.items():
                    self.send_header(key, value)
                self.end_headers()
                if reply.drip_s > 0:
                    for byte in range(len(data)):
                        self.wfile.write(data[byte : byte + 1])
                        self.wfile.flush()
                        time.sleep(reply.drip_s)
                    return
                if reply.cut_after is not None:
                    self.wfile.write(data[: reply.cut_after])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                # The client gave up first (a scripted delay past its timeout): expected.
                return

        def log_message(self, *args: Any) -> None:
            # Tests read server.requests; per-request stderr lines would only be noise.
            return

    return _RequestHandler


def _endpoint_of(path: str) -> str | None:
    clean = path.split("?", 1)[0].rstrip("/")
    if clean.endswith("/chat/completions"):
        return "chat"
    if clean.endswith("/embeddings"):
        return "embeddings"
    return None


def _requested_tool(request: dict[str, Any]) -> str | None:
    choice = request.get("tool_choice")
    if isinstance(choice, dict):
        return (choice.get("function") or {}).get("name")
    tools = request.get("tools") or []
    if tools and isinstance(tools[0], dict):
        return (tools[0].get("function") or {}).get("name")
    return None


def _count_words(value: Any) -> int:
    return len(_WORD.findall(value if isinstance(value, str) else json.dumps(value)))


def _completion(
    request: dict[str, Any],
    message: dict[str, Any],
    finish_reason: str,
    output_text: str,
    usage: tuple[int, int] | None,
) -> dict[str, Any]:
    # Word counts stand in for tokens: deterministic, so tests can assert the totals.
    tokens_in, tokens_out = usage or (
        max(1, _count_words(request.get("messages", []))),
        max(1, _count_words(output_text)),
    )
    return {
        "id": f"chatcmpl-{int(time.time() * 1000)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", "test-model"),
        "choices": [
            {"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": None}
        ],
        "usage": {
            "prompt_tokens": tokens_in,
            "completion_tokens": tokens_out,
            "total_tokens": tokens_in + tokens_out,
        },
    }


def _embedding_body(request: dict[str, Any], vectors: list[list[float]]) -> dict[str, Any]:
    as_base64 = request.get("encoding_format") == "base64"
    data = []
    for index, vector in enumerate(vectors):
        encoded: Any = vector
        if as_base64:
            # The openai client asks for base64 by default and decodes float32 itself.
            encoded = base64.b64encode(array("f", vector).tobytes()).decode("ascii")
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    texts = request.get("input")
    tokens = _count_words(texts) if texts is not None else 0
    return {
        "object": "list",
        "data": data,
        "model": request.get("model", "test-embedding"),
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
