// A third-party MCP client for the interop tests (tests/test_mcp_interop.py): the
// TypeScript SDK, not the Python one the other MCP tests use. It connects over
// streamable HTTP (`http URL KEY`), the older HTTP+SSE transport (`sse URL KEY`) or stdio
// (`stdio COMMAND ARG...`), lists the tools,
// makes the calls given as JSON on stdin ([{"tool": ..., "arguments": {...}}, ...]) and
// prints one JSON object: the server's name, the tools, and each call's result.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport, getDefaultEnvironment } from "@modelcontextprotocol/sdk/client/stdio.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [mode, ...rest] = process.argv.slice(2);
let input = "";
for await (const chunk of process.stdin) input += chunk;
const calls = JSON.parse(input || "[]");

const keyed = { requestInit: { headers: { Authorization: `Bearer ${rest[1]}` } } };
const transport = mode === "http"
  ? new StreamableHTTPClientTransport(new URL(rest[0]), keyed)
  : mode === "sse"
  ? new SSEClientTransport(new URL(rest[0]), keyed)
  : new StdioClientTransport({
      command: rest[0],
      args: rest.slice(1),
      stderr: "ignore",
      // The SDK passes on only a few safe variables; PYTHONPATH picks the checkout tested.
      env: { ...getDefaultEnvironment(), ...(process.env.PYTHONPATH ? { PYTHONPATH: process.env.PYTHONPATH } : {}) },
    });
const client = new Client({ name: "graphmem-interop", version: "1.0.0" });

// Sends `batch` (JSON-RPC messages, requests with string ids) as one JSON-RPC batch
// through the SDK's own transport, and returns the answers to its requests, in the
// order they came. Other messages still reach the client.
async function sendBatch(batch) {
  const wanted = new Set(batch.filter((m) => "id" in m).map((m) => m.id));
  const answers = [];
  const passOn = transport.onmessage;
  const settled = new Promise((resolve) => {
    transport.onmessage = (message, extra) => {
      if (!("method" in message) && wanted.has(message.id)) {
        answers.push(message);
        if (answers.length === wanted.size) resolve();
      } else passOn?.(message, extra);
    };
  });
  await transport.send(batch);
  let timer;
  await Promise.race([settled, new Promise((resolve) => { timer = setTimeout(resolve, 60000); })]);
  clearTimeout(timer);
  transport.onmessage = passOn;
  return answers;
}
const out = { results: [] };
try {
  await client.connect(transport);
  out.server = client.getServerVersion();
  out.tools = (await client.listTools()).tools;
  for (const { tool, arguments: args } of calls) {
    try {
      const r = await client.callTool({ name: tool, arguments: args ?? {} });
      out.results.push({
        tool,
        isError: Boolean(r.isError),
        text: (r.content ?? []).filter((c) => c.type === "text").map((c) => c.text).join("\n"),
        structured: r.structuredContent ?? null,
      });
    } catch (err) {
      out.results.push({ tool, thrown: String(err) });
    }
  }
  if (process.env.GRAPHMEM_BATCH) out.batch = await sendBatch(JSON.parse(process.env.GRAPHMEM_BATCH));
  await client.ping();
  out.pinged = true;
} catch (err) {
  out.error = String(err);
} finally {
  await client.close().catch(() => {});
}
process.stdout.write(JSON.stringify(out));
