"""The MCP tools: graphmem's memory as a model sees it.

Each tool answers twice: text a model reads (every recall hit with its explanation and
the graph path that led to it) and ``structured_content`` with the library objects'
field names (``graphmem.jsonable``), for clients that read data. Arguments are checked
against each tool's JSON schema by the SDK before a tool runs; a graphmem error (bad
input, unknown id) comes back as a tool error naming the problem, never as a crash.

Tools never take a scope: it is the server's (``graphmem mcp --user ...``) or the API
key's (``graphmem serve``), so a model cannot wander into another user's memories.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from .. import __version__
from ..errors import GraphMemError, ReadOnlyError, ValidationError
from ..jsonable import to_jsonable
from .vet import strict_arguments

# call("search", query, user_id=...) runs one Memory method ("graph.paths" for the
# relationship API) wherever the memory lives, and returns its result.
Call = Callable[..., Awaitable[Any]]
# The scope arguments (user_id, agent_id, run_id) for the request a tool serves.
ScopeOf = Callable[[Context], dict[str, str | None]]

INSTRUCTIONS = """graphmem is your long-term memory: facts about the user and the world,
kept as a knowledge graph (entities and the relations between them) and as searchable text.
Call `recall` before answering anything that may depend on what you were told earlier,
and `remember` whenever you learn something worth keeping (preferences, people, plans,
changes). Relations change over time: a new fact supersedes the old one, and tools that
read the graph accept `as_of` to look at the past."""

READ = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)
WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)
REMOVE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True,
                         open_world_hint=False)  # fmt: skip

MemoryId = Annotated[str, Field(min_length=1, max_length=100,
                                description="a memory id, as given by recall or list_memories")]  # fmt: skip
EntityName = Annotated[str, Field(min_length=1, max_length=500,
                                  description="an entity's name, alias or id, e.g. 'Alice'")]  # fmt: skip
Kind = Literal["semantic", "episodic", "procedural", "rule"]
Kinds = Annotated[list[Kind] | None, Field(description="only memories of these types "
                                           "(default: all)")]  # fmt: skip
AsOf = Annotated[str | None, Field(description="ISO date or datetime, e.g. '2024-03-01': "
                                   "read the graph as it was then (default: now)")]  # fmt: skip
When = Annotated[str | None, Field(description="ISO date or datetime the fact became true "
                                   "or was said, if not now")]  # fmt: skip
Labels = Annotated[dict[str, Any] | None, Field(description="optional labels kept with the "
                                                "memory")]  # fmt: skip


class Turn(BaseModel):
    """One message of the conversation."""

    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "assistant", "system", "tool"] = Field(
        "user", description="who said it: 'user' or 'assistant' (default 'user')"
    )
    content: str = Field(min_length=1, description="what was said")
    name: str | None = Field(None, min_length=1, max_length=200, description="the speaker's "
                             "name, where several people share a role (a group chat)")  # fmt: skip


# The turns' schema written out in place: some clients (and the function-calling formats
# of some model APIs they pass tools to) do not follow "$ref", which pydantic would use.
_MOST_TURNS = 1000
Turns = Annotated[
    list[Turn],
    Field(min_length=1, max_length=_MOST_TURNS),
    WithJsonSchema({"type": "array", "items": Turn.model_json_schema(), "minItems": 1,
                    "maxItems": _MOST_TURNS, "description": "the messages, in the order said"}),
]  # fmt: skip


def answer(text: str, data: dict[str, Any]) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)],
                          structured_content=to_jsonable(data))  # fmt: skip


def route(steps: Sequence[Any]) -> str:
    return " ; ".join(f"{s.source} -[{s.relation}]-> {s.target}" for s in steps)


def hits_text(hits: Sequence[Any]) -> str:
    if not hits:
        return "No memory matches."
    lines = []
    for rank, hit in enumerate(hits, 1):
        said = f"said by {who}, " if (who := hit.said_by()) else ""
        lines.append(f"{rank}. {hit.text}  ({said}id {hit.memory_id}, score {hit.score:.3f})")
        if hit.path:
            lines.append(f"   graph path: {route(hit.path)}")
        lines.append(f"   why: {hit.explain()}")
    return "\n".join(lines)


def facts_text(facts: Sequence[Any]) -> str:
    if not facts:
        return "No memories."
    return "\n".join(f"- {f.text}  (id {f.id}{', superseded ' + f.invalid_at if f.invalid_at else ''})"
                     for f in facts)  # fmt: skip


def relations_text(rels: Sequence[Any]) -> str:
    if not rels:
        return "No relations."
    out = []
    for r in rels:
        when = f" since {r.valid_at[:10]}" if r.valid_at else ""
        ended = f", ended {r.invalid_at[:10]}" if r.invalid_at else ""
        out.append(f"- {r.source_name} -[{r.name}]-> {r.target_name}{when}{ended}")
    return "\n".join(out)


def remembered(result: Any) -> str:
    facts = result.facts
    lines = [f"Remembered {len(facts)} memor{'y' if len(facts) == 1 else 'ies'}:"]
    lines += [f"- {f.text}  (id {f.id})" for f in facts]
    lines += [f"graph: {r}" for r in result.relations]
    lines += [f"superseded: {old}" for old in result.invalidated]
    unchanged = result.unchanged
    if unchanged:
        lines.append(f"Already stored, unchanged: {', '.join(unchanged[:20])}"
                     + (f" and {len(unchanged) - 20} more" if len(unchanged) > 20 else ""))  # fmt: skip
    return "\n".join(lines)


def calls_on(amem: Any) -> Call:
    """``Call`` over an ``AsyncMemory`` (its lanes decide what may overlap)."""

    async def call(op: str, *args: Any, **kwargs: Any) -> Any:
        owner, _, method = op.rpartition(".")
        return await getattr(amem.graph if owner == "graph" else amem, method)(*args, **kwargs)

    return call


_ARGUMENT_OF = {"timestamp": "when"}  # the library's name of a field -> the tool argument's


def build_server(call: Call, scope_of: ScopeOf, *, name: str = "graphmem") -> MCPServer:
    """An MCP server whose tools run ``call`` in the scope ``scope_of`` gives each request."""
    # WARNING: the SDK logs each refused call at INFO; the client already gets the error.
    server = MCPServer(name, title="graphmem memory", version=__version__,
                       instructions=INSTRUCTIONS, log_level="WARNING")  # fmt: skip

    taken: dict[str, tuple[str, ...]] = {}  # each tool's arguments (vet.strict_arguments)
    # Each tool's advertised input schema, as tools/list gives it (the SDK's own table).
    server.middleware.append(strict_arguments(taken, server._tool_input_schema))
    server.graphmem_tools = taken  # type: ignore[attr-defined]  # the names vet.refusal serves

    def tool(annotations: ToolAnnotations) -> Callable[[Any], Any]:
        def register(fn: Any) -> Any:
            taken[fn.__name__] = tuple(p for p in inspect.signature(fn).parameters if p != "ctx")
            return server.tool(annotations=annotations)(fn)

        return register

    async def run(ctx: Context, op: str, *args: Any,
                  arguments: Mapping[str, str] = _ARGUMENT_OF, **kwargs: Any) -> Any:  # fmt: skip
        try:
            return await call(op, *args, **kwargs, **scope_of(ctx))
        except GraphMemError as exc:
            # The model reads this and can correct itself; the class names the kind, and
            # the field is named as the tool's argument (``when``, not ``timestamp``).
            said = str(exc)
            if isinstance(exc, ValidationError) and exc.field in arguments:
                said = f"{arguments[exc.field]}: {exc.detail}"
            raise ToolError(f"{type(exc).__name__}: {said}") from exc

    @tool(WRITE)
    async def remember(
        text: Annotated[
            str,
            Field(
                min_length=1,
                description="what to remember, in plain "
                "words: a fact, a note, or a conversation excerpt (a transcript "
                "of 'Name: ...' lines is kept turn by turn; remember_conversation "
                "takes the messages themselves)",
            ),
        ],  # fmt: skip
        ctx: Context,
        infer: Annotated[
            bool,
            Field(
                description="extract facts, entities and relations "
                "(true); false stores the text as one memory"
            ),
        ] = True,  # fmt: skip
        metadata: Labels = None,
        when: When = None,
        memory_type: Annotated[
            Kind | None,
            Field(
                description="'rule' for a standing "
                "instruction from the user (see the rules tool), 'procedural' "
                "for the steps of a task you carried out (one numbered "
                "procedure), default: facts"
            ),
        ] = None,  # fmt: skip
        importance: Annotated[
            float | None,
            Field(ge=0, le=1, description="how much this matters, 0 to 1 (default: estimated)"),
        ] = None,  # fmt: skip
        ttl: Annotated[
            str | None,
            Field(
                description="forget it after this long, e.g. '30m', "
                "'12h', '7d', '2w' (default: keep)"
            ),
        ] = None,  # fmt: skip
    ) -> CallToolResult:
        """Store something worth remembering about the user or the world. Facts are
        extracted and linked into the knowledge graph; a fact that contradicts an older
        one supersedes it (the old one stays in history). Returns the stored memories."""
        result = await run(ctx, "add", text, arguments={**_ARGUMENT_OF, "messages": "text"},
                           infer=infer, metadata=metadata, timestamp=when,
                           memory_type=memory_type, importance=importance, ttl=ttl)  # fmt: skip
        return answer(remembered(result), {"result": result})

    @tool(WRITE)
    async def remember_conversation(
        messages: Turns,
        ctx: Context,
        metadata: Labels = None,
        when: When = None,
    ) -> CallToolResult:
        """Store a conversation (a transcript, or the turns since you last saved) as
        messages, not one block of text. Facts are read from each message, the user's and
        the assistant's, and a long conversation is kept turn by turn: recall then returns
        the turn that says it, with its speaker, instead of the whole conversation. Use
        remember for one fact."""
        turns = [t.model_dump(exclude_none=True) for t in messages]
        result = await run(ctx, "add", turns, metadata=metadata, timestamp=when)
        return answer(remembered(result), {"result": result})

    @tool(READ)
    async def recall(
        query: Annotated[
            str,
            Field(
                min_length=1,
                description="a question or topic, e.g. 'where does Alice's brother live?'",
            ),
        ],  # fmt: skip
        ctx: Context,
        limit: Annotated[int, Field(ge=1, le=50, description="how many memories")] = 5,
        as_of: AsOf = None,
        memory_types: Kinds = None,
    ) -> CallToolResult:
        """Search long-term memory. Combines meaning, keywords and the knowledge graph,
        so it also finds facts linked through other entities (a question about 'Alice's
        brother' finds where Bob lives). Ask as the user would: 'I' and 'my' are the user,
        'you' is you ('which restaurant did you recommend?' ranks your own replies higher);
        or in your own voice, naming the user ('what did I suggest to the user?').
        Each hit says why it was found, who said it, and, when the graph led to it, the
        path of relations."""
        hits = await run(ctx, "search", query, limit=limit, as_of=as_of,
                         memory_types=memory_types)  # fmt: skip
        return answer(hits_text(hits), {"hits": hits})

    @tool(REMOVE)
    async def forget(memory_id: MemoryId, ctx: Context) -> CallToolResult:
        """Delete one memory for good, with the graph relations only it supported. Use
        when the user asks you to forget something; to correct a fact, use update_memory."""
        await run(ctx, "delete", memory_id)
        return answer(f"Forgot memory {memory_id}.", {"deleted": 1, "memory_id": memory_id})

    @tool(READ)
    async def list_memories(
        ctx: Context,
        limit: Annotated[int, Field(ge=1, le=500, description="how many")] = 50,
        offset: Annotated[int, Field(ge=0, description="how many to skip")] = 0,
        include_superseded: Annotated[
            bool, Field(description="also list memories replaced by newer facts")
        ] = False,  # fmt: skip
        memory_types: Kinds = None,
        include_archived: Annotated[
            bool, Field(description="also list archived memories")
        ] = False,  # fmt: skip
    ) -> CallToolResult:
        """List the stored memories with their ids, a page at a time (limit, offset)."""
        facts = await run(ctx, "get_all", limit=limit, offset=offset,
                          include_invalid=include_superseded, memory_types=memory_types,
                          include_archived=include_archived)  # fmt: skip
        return answer(facts_text(facts), {"memories": facts})

    @tool(READ)
    async def rules(
        ctx: Context,
        limit: Annotated[int, Field(ge=1, le=200, description="how many")] = 50,
    ) -> CallToolResult:
        """The user's standing rules (how to address them, what to always or never do),
        most important first. Read them at the start of a conversation and follow them;
        store a new one with remember(memory_type='rule')."""
        found = await run(ctx, "rules", limit=limit)
        text = "\n".join(f"- {f.text}  (id {f.id})" for f in found) or "No rules."
        return answer(text, {"rules": found})

    @tool(WRITE)
    async def update_memory(
        memory_id: MemoryId,
        text: Annotated[str, Field(min_length=1, description="the corrected text")],
        ctx: Context,
    ) -> CallToolResult:
        """Replace the text of one memory (a correction). The change is kept in its history."""
        fact = await run(ctx, "update", memory_id, text)
        return answer(f"Updated memory {fact.id}: {fact.text}", {"memory": fact})

    @tool(READ)
    async def entity(
        name: EntityName,
        ctx: Context,
        as_of: AsOf = None,
        include_ended: Annotated[
            bool, Field(description="also relations that have ended (ignored with as_of)")
        ] = False,  # fmt: skip
    ) -> CallToolResult:
        """Look up one entity (person, place, organisation, thing) and its relations in
        the knowledge graph: who or what it is connected to, and since when."""
        found = await run(ctx, "graph.entity", name)
        rels = await run(ctx, "graph.relations", found.id, as_of=as_of,
                         include_invalid=include_ended)  # fmt: skip
        aka = f" (also: {', '.join(found.aliases)})" if found.aliases else ""
        text = f"{found.name} [{found.type}]{aka}\n{relations_text(rels)}"
        return answer(text, {"entity": found, "relations": rels})

    @tool(READ)
    async def how_connected(
        source: EntityName,
        target: EntityName,
        ctx: Context,
        max_hops: Annotated[int, Field(ge=1, le=6, description="longest chain")] = 3,
        as_of: AsOf = None,
    ) -> CallToolResult:
        """How two entities are connected: the chains of relations between them in the
        knowledge graph, shortest first (e.g. Alice -[brother]-> Bob -[lives_in]-> Paris)."""
        paths = await run(ctx, "graph.paths", source, target, max_hops, as_of=as_of)
        text = "\n".join(f"{i}. {route(p)}" for i, p in enumerate(paths, 1))
        if paths == [[]]:  # the one path of no step: both name the same entity
            text = f"{source!r} and {target!r} are the same entity (a path of no step)."
        return answer(text or f"No connection within {max_hops} hops.", {"paths": paths})

    @tool(READ)
    async def history(memory_id: MemoryId, ctx: Context) -> CallToolResult:
        """Every change to one memory, oldest first: added, updated, superseded, deleted."""
        events = await run(ctx, "history", memory_id)
        text = "\n".join(f"- {e.created_at} {e.event}" + (f": {e.new_value}" if e.new_value else "")
                         for e in events)  # fmt: skip
        return answer(text, {"events": events})

    @tool(READ)
    async def cypher(
        query: Annotated[
            str,
            Field(
                min_length=1,
                max_length=10_000,
                description="a read-only "
                "openCypher query over (:Fact)-[:MENTIONS]->(:Entity)"
                "-[:RELATES {name, valid_at, invalid_at}]->(:Entity)",
            ),
        ],  # fmt: skip
        ctx: Context,
        params: Annotated[dict[str, Any] | None, Field(description="query parameters")] = None,
    ) -> CallToolResult:
        """Run a read-only Cypher query over this memory's knowledge graph (only its own
        scope is visible; writes are refused). For questions the other tools cannot
        answer, e.g. counting relations of a kind. Returns rows."""
        try:
            rows = await run(ctx, "cypher", query, params)
        except ToolError as exc:
            if isinstance(exc.__cause__, ReadOnlyError):
                # What was refused, as the library says it (an agent that sent "Alice" must
                # learn it is no query, not only that writes are refused), then what to do
                # instead with the tools: the library's list of clauses speaks to Python.
                said = str(exc.__cause__).removeprefix("cypher: ")
                said = said.split(" Cypher inspection allows")[0]
                raise ToolError(f"ReadOnlyError: {said} This tool only reads the graph (MATCH "
                                "... RETURN); store facts with remember, correct them with "
                                "update_memory") from exc  # fmt: skip
            raise
        shown = "\n".join(str(to_jsonable(r)) for r in rows[:50])
        more = f"\n... {len(rows)} rows in all" if len(rows) > 50 else ""
        return answer((shown or "No rows.") + more, {"rows": rows})

    return server


__all__ = ["INSTRUCTIONS", "build_server", "calls_on"]
