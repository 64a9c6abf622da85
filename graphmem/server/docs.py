"""``/docs``: the API's reference as one page made here, with no script and nothing fetched.

FastAPI's own ``/docs`` (Swagger UI) and ``/redoc`` load their scripts and fonts from
public CDNs (cdn.jsdelivr.net, fonts.googleapis.com). Those are the pages where a user
pastes a key into "Authorize", so whoever served the script could run code on the
memory server's own origin and read it; offline, where graphmem runs, they were blank.
This page is rendered from the same OpenAPI document (``/openapi.json``, still served
for tools that want it) and sent under a policy that allows no script at all.
"""

from __future__ import annotations

import html
import json
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

POLICY = ("default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
          "form-action 'none'; frame-ancestors 'none'")  # fmt: skip
_STYLE = """body{font:15px/1.45 system-ui,sans-serif;max-width:62rem;margin:2rem auto;padding:0 1rem}
code,pre{font:13px ui-monospace,monospace}pre{background:#f4f4f4;padding:.6rem;overflow:auto}
h2{margin-top:2.2rem;border-bottom:1px solid #ddd}h3{margin:1.4rem 0 .3rem}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left}
.m{font-weight:600;text-transform:uppercase}"""


def install_docs(app: FastAPI) -> None:
    """Serve ``/docs`` from the app's own OpenAPI document (call after every route)."""

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(render(app.openapi()), headers={
            "Content-Security-Policy": POLICY, "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer"})  # fmt: skip


def render(spec: dict[str, Any]) -> str:
    info = spec.get("info", {})
    parts = [f"<!doctype html><meta charset=utf-8><title>{_e(info.get('title', 'API'))} "
             f"API</title><style>{_STYLE}</style>",
             f"<h1>{_e(info.get('title', ''))} {_e(info.get('version', ''))}</h1>",
             f"<p>{_e(info.get('description', ''))}</p>",
             "<p>Send the key as <code>Authorization: Bearer gm_...</code> or "
             "<code>X-API-Key</code>. The machine-readable document is "
             "<a href=/openapi.json>/openapi.json</a>.</p>"]  # fmt: skip
    by_tag: dict[str, list[str]] = {}
    for path, methods in spec.get("paths", {}).items():
        for method, op in methods.items():
            tag = (op.get("tags") or ["other"])[0]
            by_tag.setdefault(tag, []).append(_operation(path, method, op))
    for tag, ops in by_tag.items():
        parts.append(f"<h2>{_e(tag)}</h2>" + "".join(ops))
    schemas = spec.get("components", {}).get("schemas", {})
    if schemas:
        parts.append("<h2>Bodies and answers</h2>")
    for name, schema in schemas.items():
        needed = set(schema.get("required", []))
        rows = "".join(f"<tr><td><code>{_e(field)}</code></td><td>{'yes' if field in needed else ''}"
                       f"</td><td>{_e(_type(sub))}</td><td>{_e(sub.get('description', ''))}</td></tr>"
                       for field, sub in schema.get("properties", {}).items())  # fmt: skip
        parts.append(f"<h3 id={_e(name)}>{_e(name)}</h3>"
                     + (f"<table><tr><th>field<th>required<th>type<th></tr>{rows}</table>"
                        if rows else f"<p>{_e(_type(schema))}</p>"))  # fmt: skip
    return "\n".join(parts)


def _operation(path: str, method: str, op: dict[str, Any]) -> str:
    out = [f"<h3><span class=m>{_e(method)}</span> <code>{_e(path)}</code></h3>",
           f"<p>{_e(op.get('summary', ''))}</p>"]  # fmt: skip
    if op.get("description"):
        out.append(f"<p>{_e(op['description'])}</p>")
    params = op.get("parameters") or []
    if params:
        rows = "".join(f"<tr><td><code>{_e(p.get('name', ''))}</code></td><td>{_e(p.get('in', ''))}"
                       f"</td><td>{'yes' if p.get('required') else ''}</td>"
                       f"<td>{_e(_type(p.get('schema', {})))}</td></tr>" for p in params)  # fmt: skip
        out.append(f"<table><tr><th>parameter<th>in<th>required<th>type</tr>{rows}</table>")
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    if body.get("schema"):
        out.append(f"<p>JSON body: <code>{_e(_type(body['schema']))}</code></p>")
    codes = ", ".join(f"{_e(code)} {_e(r.get('description', ''))}"
                      for code, r in (op.get("responses") or {}).items())  # fmt: skip
    if codes:
        out.append(f"<p>Answers: {codes}</p>")
    return "".join(out)


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        return " | ".join(_type(o) for o in options)
    kind = schema.get("type", "")
    if kind == "array":
        return f"array of {_type(schema.get('items', {}))}"
    if "enum" in schema:
        return " | ".join(json.dumps(v) for v in schema["enum"])
    return str(kind or "any")


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)
