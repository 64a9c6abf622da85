// The graph view: a small force layout and an SVG drawing, no library.
// Positions are computed once per loaded graph (current and superseded edges together),
// so moving the date slider changes what is drawn, never where things are.

const SVG = "http://www.w3.org/2000/svg";

// Colours for the entity types the extractors produce; other types get a stable colour
// from their name, so the same type looks the same on every load.
const TYPE_COLOURS = {
  person: "#2f6fdf", organization: "#d9822b", location: "#2e9e5b", place: "#2e9e5b",
  concept: "#8e5bd6", event: "#c8447c", thing: "#6b7b8c", other: "#6b7b8c",
};
const PALETTE = ["#1f77b4", "#b35c00", "#2ca02c", "#c62828", "#7b52ab", "#8c564b",
  "#c2185b", "#5f6b7a", "#8a8a00", "#0f8a9d"];

function hashed(text) {
  let h = 0;
  for (const ch of text) h = (h * 31 + ch.codePointAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length];
}

// Own keys only: a type named "constructor" or "__proto__" read Object's members.
export const typeColour = (type) =>
  (Object.hasOwn(TYPE_COLOURS, type) ? TYPE_COLOURS[type] : null) || hashed(type || "other");
export const relationColour = (name) => hashed(relationKey(name));
// The server's canonical relation form ("Works At" -> "works_at"), to match path steps.
export const relationKey = (name) =>
  String(name).normalize("NFKC").toLowerCase().replace(/[^\p{L}\p{N}_]+/gu, "_").replace(/^_+|_+$/g, "");
const nameKey = (name) => String(name).normalize("NFKC").toLowerCase().trim();

function el(tag, attrs = {}, parent = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (parent) parent.appendChild(node);
  return node;
}

// Fruchterman-Reingold with a pull towards the centre so separate components stay close.
export function layout(nodes, edges, iterations = 300) {
  const n = nodes.length;
  const k = 90;
  const order = nodes.map((_, i) => i).sort((a, b) => nodes[a].name.localeCompare(nodes[b].name));
  const pos = new Array(n);
  order.forEach((idx, rank) => {
    const angle = rank * 2.39996; // golden angle: an even, deterministic start
    const r = k * Math.sqrt(rank + 0.5);
    pos[idx] = { x: r * Math.cos(angle), y: r * Math.sin(angle) };
  });
  const index = new Map(nodes.map((node, i) => [node.id, i]));
  const links = edges.map((e) => [index.get(e.source), index.get(e.target)])
    .filter(([a, b]) => a !== undefined && b !== undefined && a !== b);
  const linked = new Set(links.flat());
  // Repulsion only within a few edge lengths: otherwise a node with no relations is
  // pushed far off and the fitted drawing shrinks everything else to specks.
  const reach2 = (4 * k) ** 2;
  let temperature = k * 2;
  for (let it = 0; it < iterations; it++) {
    const disp = pos.map(() => ({ x: 0, y: 0 }));
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        let dx = pos[i].x - pos[j].x;
        let dy = pos[i].y - pos[j].y;
        let d2 = dx * dx + dy * dy;
        if (d2 > reach2) continue;
        if (d2 < 0.01) { dx = 0.1 * (i - j); dy = 0.1; d2 = dx * dx + dy * dy; }
        const f = (k * k) / d2;
        disp[i].x += dx * f; disp[i].y += dy * f;
        disp[j].x -= dx * f; disp[j].y -= dy * f;
      }
    }
    for (const [a, b] of links) {
      const dx = pos[a].x - pos[b].x;
      const dy = pos[a].y - pos[b].y;
      const d = Math.sqrt(dx * dx + dy * dy) || 0.01;
      const f = d / k;
      disp[a].x -= dx * f; disp[a].y -= dy * f;
      disp[b].x += dx * f; disp[b].y += dy * f;
    }
    for (let i = 0; i < n; i++) {
      // Entities with no relation have nothing holding them: pull them in harder.
      const pull = linked.has(i) ? 0.05 : 0.4;
      disp[i].x -= pos[i].x * pull;
      disp[i].y -= pos[i].y * pull;
      const d = Math.sqrt(disp[i].x ** 2 + disp[i].y ** 2) || 1;
      const step = Math.min(d, temperature);
      pos[i].x += (disp[i].x / d) * step;
      pos[i].y += (disp[i].y / d) * step;
    }
    temperature = Math.max(1, temperature * 0.97);
  }
  return new Map(nodes.map((node, i) => [node.id, pos[i]]));
}

// Which edges a date shows: "current" (valid then), "superseded" (ended by then) or
// "hidden" (not yet true then). `validIds` is what the server says was valid at `asOf`.
export function edgeStatus(edge, asOf, validIds) {
  if (!asOf) return edge.invalid_at ? "superseded" : "current";
  if (validIds ? validIds.has(edge.id) : !edge.invalid_at) return "current";
  if (edge.invalid_at && edge.invalid_at <= asOf) return "superseded";
  return "hidden";
}

export class GraphView {
  constructor(svg, { onSelect }) {
    this.svg = svg;
    this.onSelect = onSelect;
    this.graph = { nodes: [], edges: [] };
    this.positions = new Map();
    this.view = null;
    this.installPanZoom();
  }

  setGraph(graph) {
    this.graph = graph;
    this.positions = layout(graph.nodes, graph.edges);
    this.view = null; // fit the new drawing
  }

  // state: {asOf, validIds, selectedId, path: [{source, relation, target}], only: Set|null}
  render(state) {
    const { nodes, edges } = this.graph;
    const svg = this.svg;
    svg.replaceChildren();
    this.defs(svg);
    const byId = new Map(nodes.map((n) => [n.id, n]));
    const onPath = pathSets(state.path || []);
    const status = new Map(edges.map((e) => [e.id, edgeStatus(e, state.asOf, state.validIds)]));
    const shownEdges = edges.filter((e) => status.get(e.id) !== "hidden"
      && (!state.only || (state.only.has(e.source) && state.only.has(e.target))));
    const degree = new Map();
    for (const e of edges) for (const id of [e.source, e.target]) degree.set(id, (degree.get(id) || 0) + 1);
    const touched = new Set(shownEdges.flatMap((e) => [e.source, e.target]));
    // Alphabetical: the order Tab visits the entities in.
    const shownNodes = nodes.filter((n) => (touched.has(n.id) || !degree.get(n.id))
      && (!state.only || state.only.has(n.id))).sort((a, b) => a.name.localeCompare(b.name));
    const near = new Set([state.selectedId]);
    for (const e of shownEdges) {
      if (e.source === state.selectedId) near.add(e.target);
      if (e.target === state.selectedId) near.add(e.source);
    }
    const focus = onPath.edges.size ? "path" : state.selectedId ? "selection" : "";

    const edgeLayer = el("g", { class: "edges" }, svg);
    const pairCount = new Map();
    for (const e of shownEdges) {
      const a = this.positions.get(e.source);
      const b = this.positions.get(e.target);
      if (!a || !b) continue;
      const pair = [e.source, e.target].sort().join("|");
      const nth = pairCount.get(pair) || 0;
      pairCount.set(pair, nth + 1);
      const src = byId.get(e.source).name;
      const dst = byId.get(e.target).name;
      const st = status.get(e.id);
      const lit = onPath.edges.has(stepKey(src, e.name, dst));
      const dim = focus === "path" ? !lit
        : focus === "selection" ? !(e.source === state.selectedId || e.target === state.selectedId) : false;
      const g = el("g", {
        class: `edge ${st}${lit ? " on-path" : ""}${dim ? " dim" : ""}`,
        "data-id": e.id, "data-relation": e.name, "data-source": src, "data-target": dst,
        "data-status": st,
      }, edgeLayer);
      const t = el("title", {}, g);
      t.textContent = `${src} -[${e.name}]-> ${dst}${st === "superseded" ? ` (superseded ${day(e.invalid_at)})` : ""}`;
      const { d, mid } = curve(a, b, nth);
      el("path", {
        d, stroke: st === "superseded" ? "#9aa3ad" : relationColour(e.name),
        "marker-end": `url(#arrow-${lit ? "path" : st})`,
      }, g);
      const label = el("text", { x: mid.x, y: mid.y - 4, class: "edge-label" }, g);
      label.textContent = st === "superseded" ? `${e.name} (until ${day(e.invalid_at)})` : e.name;
    }

    const nodeLayer = el("g", { class: "nodes" }, svg);
    for (const n of shownNodes) {
      const p = this.positions.get(n.id);
      const lit = onPath.nodes.has(nameKey(n.name));
      const selected = n.id === state.selectedId;
      const dim = focus === "path" ? !lit : focus === "selection" ? !near.has(n.id) : false;
      const g = el("g", {
        class: `node${selected ? " selected" : ""}${lit ? " on-path" : ""}${dim ? " dim" : ""}`,
        transform: `translate(${p.x.toFixed(1)},${p.y.toFixed(1)})`,
        tabindex: 0, role: "button", "aria-pressed": selected ? "true" : "false",
        "aria-label": `${n.name}, ${n.type || "entity"}`, "data-id": n.id, "data-name": n.name,
      }, nodeLayer);
      el("circle", { r: selected ? 13 : 10, fill: typeColour(n.type) }, g);
      const label = el("text", { x: 14, y: 4, class: "node-label" }, g);
      label.textContent = n.name;
      const pick = () => this.onSelect(n);
      g.addEventListener("click", pick);
      g.addEventListener("keydown", (ev) => {
        if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); pick(); }
      });
    }
    if (!this.view) this.fit(shownNodes.length ? shownNodes : nodes);
    this.applyView();
    return { nodes: shownNodes.length, edges: shownEdges.length };
  }

  defs(svg) {
    const defs = el("defs", {}, svg);
    for (const [name, colour] of [["current", "#5f6b7a"], ["superseded", "#9aa3ad"], ["path", "#e8590c"]]) {
      const m = el("marker", {
        id: `arrow-${name}`, viewBox: "0 0 10 10", refX: 20, refY: 5,
        markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse", markerUnits: "userSpaceOnUse",
      }, defs);
      el("path", { d: "M0,0 L10,5 L0,10 z", fill: colour }, m);
    }
  }

  fit(nodes) {
    const pts = nodes.map((n) => this.positions.get(n.id)).filter(Boolean);
    if (!pts.length) { this.view = { x: -200, y: -150, w: 400, h: 300 }; return; }
    const xs = pts.map((p) => p.x);
    const ys = pts.map((p) => p.y);
    const pad = 60;
    const left = Math.min(...xs) - pad;
    const top = Math.min(...ys) - pad;
    let w = Math.max(...xs) - left + pad + 60; // room for the rightmost label
    let h = Math.max(...ys) - top + pad;
    // Never magnify past 1.25x: a small graph keeps readable proportions.
    const box = this.svg.getBoundingClientRect();
    if (box.width && box.height) {
      const scale = Math.max(w / box.width, h / box.height, 1 / 1.25);
      const cx = left + w / 2;
      const cy = top + h / 2;
      w = box.width * scale;
      h = box.height * scale;
      this.view = { x: cx - w / 2, y: cy - h / 2, w, h };
      return;
    }
    this.view = { x: left, y: top, w, h };
  }

  applyView() {
    const v = this.view;
    this.svg.setAttribute("viewBox", `${v.x} ${v.y} ${v.w} ${v.h}`);
  }

  // Wheel zooms around the pointer, dragging the background pans.
  installPanZoom() {
    const svg = this.svg;
    svg.addEventListener("wheel", (ev) => {
      if (!this.view) return;
      ev.preventDefault();
      const r = svg.getBoundingClientRect();
      const f = ev.deltaY > 0 ? 1.15 : 1 / 1.15;
      const v = this.view;
      const px = v.x + ((ev.clientX - r.left) / r.width) * v.w;
      const py = v.y + ((ev.clientY - r.top) / r.height) * v.h;
      this.view = { x: px - (px - v.x) * f, y: py - (py - v.y) * f, w: v.w * f, h: v.h * f };
      this.applyView();
    }, { passive: false });
    let drag = null;
    svg.addEventListener("pointerdown", (ev) => {
      if (ev.target.closest(".node") || !this.view) return;
      drag = { x: ev.clientX, y: ev.clientY, view: { ...this.view } };
      svg.setPointerCapture(ev.pointerId);
    });
    svg.addEventListener("pointermove", (ev) => {
      if (!drag) return;
      const r = svg.getBoundingClientRect();
      const s = Math.max(drag.view.w / r.width, drag.view.h / r.height);
      this.view = { ...drag.view, x: drag.view.x - (ev.clientX - drag.x) * s, y: drag.view.y - (ev.clientY - drag.y) * s };
      this.applyView();
    });
    svg.addEventListener("pointerup", () => { drag = null; });
  }
}

function curve(a, b, nth) {
  // Parallel edges between the same pair bend apart instead of overlapping.
  const bend = nth === 0 ? 0 : (nth % 2 ? 1 : -1) * Math.ceil(nth / 2) * 28;
  const mx = (a.x + b.x) / 2;
  const my = (a.y + b.y) / 2;
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const len = Math.sqrt(dx * dx + dy * dy) || 1;
  const cx = mx - (dy / len) * bend;
  const cy = my + (dx / len) * bend;
  const mid = { x: (mx + cx) / 2, y: (my + cy) / 2 };
  return { d: `M${a.x.toFixed(1)},${a.y.toFixed(1)} Q${cx.toFixed(1)},${cy.toFixed(1)} ${b.x.toFixed(1)},${b.y.toFixed(1)}`, mid };
}

const stepKey = (src, rel, dst) => `${nameKey(src)}\u0000${relationKey(rel)}\u0000${nameKey(dst)}`;

function pathSets(path) {
  const edges = new Set();
  const nodes = new Set();
  for (const s of path) {
    edges.add(stepKey(s.source, s.relation, s.target));
    nodes.add(nameKey(s.source));
    nodes.add(nameKey(s.target));
  }
  return { edges, nodes };
}

export const day = (iso) => (iso ? String(iso).slice(0, 10) : "");
