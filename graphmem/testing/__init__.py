"""Test helpers shipped with graphmem, so users can test their own code without a hosted LLM.

``OpenAIServer`` is a real HTTP server speaking the OpenAI wire format on 127.0.0.1;
point ``OpenAIChat`` / ``OpenAIEmbedder`` (or any ``openai`` client) at ``server.base_url``.
"""

from .openai_server import (
    OpenAIServer,
    RecordedRequest,
    Reply,
    delay,
    embeddings_reply,
    error,
    hash_embedding,
    ok_content,
    ok_tool_call,
    raw_content,
)

__all__ = [
    "OpenAIServer",
    "RecordedRequest",
    "Reply",
    "delay",
    "embeddings_reply",
    "error",
    "hash_embedding",
    "ok_content",
    "ok_tool_call",
    "raw_content",
]
