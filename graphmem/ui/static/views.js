// The side panel's contents, built as DOM nodes. Every value from the server goes in as
// text (never as markup): entity names and memory texts are user data.

import { day, relationColour } from "./graph.js";

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "class") node.className = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

const fmt = (x) => (typeof x === "number" ? (Number.isInteger(x) ? String(x) : x.toFixed(3)) : String(x));

export function pathText(path) {
  return path.map((s) => `${s.source} -[${s.relation}]-> ${s.target}`).join(" ; ");
}

function pathChips(path) {
  const out = [];
  path.forEach((s, i) => {
    if (i === 0) out.push(h("span", { class: "ent" }, s.source));
    out.push(h("span", { class: "rel", title: s.relation }, `→ ${s.relation} →`));
    out.push(h("span", { class: "ent" }, s.target));
  });
  return h("span", { class: "path", "aria-label": `graph path: ${pathText(path)}` }, out);
}

// A hit as the server sends it: fact fields either flat or under "fact", score parts
// under "parts" (REST) or "score_parts" (the Python field name).
export function normaliseHit(hit) {
  const fact = hit.fact || {};
  return {
    id: hit.memory_id || fact.id || hit.id || "",
    text: hit.text || fact.text || "",
    score: hit.score,
    channels: hit.channels || [],
    parts: hit.parts || hit.score_parts || {},
    path: hit.path || [],
    explanation: hit.explanation || "",
    invalid_at: hit.invalid_at || fact.invalid_at || "",
    said: hit.said_by || "", // Hit.said_by(), sent by the server
  };
}

export function renderHits(list, hits, selected, onPick) {
  list.replaceChildren();
  hits.forEach((hit, i) => {
    const parts = Object.entries(hit.parts).sort(([a], [b]) => a.localeCompare(b));
    const item = h("li", {
      class: `hit${i === selected ? " selected" : ""}`, "data-path": pathText(hit.path),
      title: hit.explanation || undefined,
    },
      h("button", {
        type: "button", class: "hit-pick", "aria-pressed": i === selected ? "true" : "false",
        "aria-label": `Hit ${i + 1}: ${hit.text}. Show its path in the graph`,
        onclick: () => onPick(i),
      },
      h("span", { class: "hit-text" }, hit.text),
      h("span", { class: "hit-score" }, `score ${fmt(hit.score)}`)),
      h("div", { class: "chips", "aria-label": "channels" },
        hit.channels.map((c) => h("span", { class: `chip ch-${c}` }, c)),
        hit.said ? h("span", { class: "chip said" }, `said by ${hit.said}`) : null,
        hit.invalid_at ? h("span", { class: "chip superseded" }, `superseded ${day(hit.invalid_at)}`) : null),
      h("dl", { class: "parts", "aria-label": "score parts" },
        parts.map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, fmt(v))))),
      hit.path.length ? pathChips(hit.path) : h("span", { class: "hint" }, "no graph path"));
    list.append(item);
  });
}

export function renderRelations(list, relations, entityId, asOf, onEntity) {
  list.replaceChildren();
  if (!relations.length) list.append(h("li", { class: "hint" }, "No relations."));
  for (const r of relations) {
    const outgoing = r.source_id === entityId;
    const other = outgoing ? r.target_name : r.source_name;
    const otherId = outgoing ? r.target_id : r.source_id;
    const ended = r.invalid_at && (!asOf || r.invalid_at <= asOf);
    const later = asOf && r.valid_at && r.valid_at > asOf;
    const when = [r.valid_at ? `since ${day(r.valid_at)}` : "undated",
      r.invalid_at ? `until ${day(r.invalid_at)}` : ""].filter(Boolean).join(", ");
    const status = later ? "later" : ended ? "superseded" : "current";
    list.append(h("li", { class: `relation ${status}`, "data-relation": r.name, "data-other": other, "data-status": status },
      h("span", { class: "dir" }, outgoing ? "→" : "←"),
      coloured(h("span", { class: "rel" }, r.name), relationColour(r.name)),
      h("button", { type: "button", class: "link", onclick: () => onEntity(otherId),
        "aria-label": `Select ${other}` }, other),
      h("span", { class: "when" }, when),
      status === "current" ? null : h("span", { class: `chip ${status}` },
        later ? "not yet true then" : "superseded")));
  }
}

// Through the CSSOM: the page's Content-Security-Policy refuses style attributes.
function coloured(node, colour) {
  node.style.borderColor = colour;
  return node;
}

export function renderFacts(list, facts) {
  list.replaceChildren();
  if (!facts.length) list.append(h("li", { class: "hint" }, "None."));
  for (const f of facts) {
    list.append(h("li", { class: f.invalid_at ? "superseded" : "" }, h("bdi", {}, f.text),
      h("span", { class: "when" }, ` (${validity(f)})`)));
  }
}

export function validity(f) {
  const from = f.valid_at ? `from ${day(f.valid_at)}` : "undated";
  return f.invalid_at ? `${from}, superseded ${day(f.invalid_at)}` : `${from}, current`;
}

// Fields a memory may carry in metadata today; lifecycle fields can join this list.
const TYPE_KEYS = ["type", "memory_type", "kind", "category"];

export function renderMemories(tbody, memories, onHistory) {
  tbody.replaceChildren();
  if (!memories.length) {
    tbody.append(h("tr", {}, h("td", { colspan: 6, class: "hint" }, "No memories.")));
    return;
  }
  for (const m of memories) {
    const meta = m.metadata || {};
    const type = TYPE_KEYS.map((k) => meta[k] ?? m[k]).find((v) => v !== undefined && v !== "") || "";
    const importance = meta.importance ?? m.importance;
    const row = h("tr", { class: m.invalid_at ? "superseded" : "", "data-id": m.id },
      h("td", { title: m.role ? `said by: ${m.role}` : undefined }, m.text),
      h("td", {}, String(type || "—")),
      h("td", {}, importance === undefined || importance === null ? "—" : fmt(importance)),
      h("td", {}, day(m.created_at)),
      h("td", {}, validity(m)),
      h("td", {}, h("button", {
        type: "button", "aria-expanded": "false", "aria-label": `History of: ${m.text}`,
        onclick: (ev) => onHistory(m, row, ev.currentTarget),
      }, "History")));
    tbody.append(row);
  }
}

export function historyRow(events) {
  const items = events.map((e) => {
    const details = e.details && Object.keys(e.details).length
      ? Object.entries(e.details).filter(([, v]) => !(Array.isArray(v) && !v.length))
        .map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`).join(", ")
      : "";
    const change = e.old_value && e.new_value ? `${e.old_value} → ${e.new_value}` : e.new_value || e.old_value || "";
    // In <bdi>: a stored U+202E must not turn the page's own text around it backwards.
    return h("li", {}, h("strong", {}, e.event), ` ${day(e.created_at)} `, h("bdi", {}, change),
      details ? h("span", { class: "when" }, " (", h("bdi", {}, details), ")") : null);
  });
  return h("tr", { class: "history" }, h("td", { colspan: 6 },
    h("ol", { class: "events", "aria-label": "history" }, items)));
}

export function renderTable(table, rows) {
  const columns = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!columns.includes(k)) columns.push(k);
  table.tHead.replaceChildren(h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c))));
  table.tBodies[0].replaceChildren(...rows.map((r) => h("tr", {},
    columns.map((c) => h("td", {}, cell(r[c]))))));
}

function cell(v) {
  if (v === undefined || v === null) return "";
  return typeof v === "object" ? JSON.stringify(v) : fmt(v);
}
