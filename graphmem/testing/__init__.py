"""Test helpers shipped with graphmem, so users can test their own code without a hosted LLM.

``OpenAIServer`` is a real HTTP server speaking the OpenAI wire format on 127.0.0.1;
point ``OpenAIChat`` / ``OpenAIEmbedder`` (or any ``openai`` client) at ``server.base_url``.
``BoltServer`` starts a local Bolt + Cypher server (ArcadeDB, from ``graphmem[dev]``) for
testing the Neo4j backend without Docker.
"""

from .bolt_server import BoltServer
from .openai_server import (
    OpenAIServer,
    RecordedRequest,
    Reply,
    cut_off,
    delay,
    embeddings_reply,
    error,
    hash_embedding,
    ok_content,
    ok_tool_call,
    raw_content,
    trickle,
)

__all__ = [
    "BoltServer",
    "OpenAIServer",
    "RecordedRequest",
    "Reply",
    "cut_off",
    "trickle",
    "delay",
    "embeddings_reply",
    "error",
    "hash_embedding",
    "ok_content",
    "ok_tool_call",
    "raw_content",
]
