// Wiring: the key form, the tabs, the date slider, and what each control asks the API.

import { api, ApiError, session, StaleAnswer } from "./api.js";
import { day, GraphView, typeColour } from "./graph.js";
import {
  h, historyRow, normaliseHit, pathText, renderFacts, renderHits, renderMemories,
  renderRelations, renderTable,
} from "./views.js";

const $ = (id) => document.getElementById(id);
const GRAPH_LIMIT = 300;
const MEMORY_LIMIT = 200;

const state = {
  full: { nodes: [], edges: [] }, // every relation of the scope, superseded ones included
  stops: [],                     // the dates something changed, for the slider
  asOf: "",                      // "" = now
  validIds: null,                // edge ids the server says were valid at asOf
  selected: null,                // the selected entity node
  only: null,                    // node ids of the neighbourhood view, or null for all
  hits: [],
  hit: -1,
};

let graphView;

// ---- messages -----------------------------------------------------------------------

function showError(err) {
  const box = $("message");
  let text = err instanceof ApiError ? err.message : `Unexpected error: ${err.message || err}`;
  const field = err.problem && err.problem.field;
  if (field) text += ` (field: ${field})`;
  if (err.status === 401) text += `${/[.!?]$/.test(text) ? "" : "."} Enter another key.`;
  box.replaceChildren(h("span", {}, text),
    h("button", { type: "button", class: "link", onclick: clearError, "aria-label": "Dismiss message" }, "Dismiss"));
  box.hidden = false;
}

function clearError() {
  $("message").hidden = true;
  $("message").replaceChildren();
}

// Runs one user action: clears the last message, shows this one's error if it fails.
async function guarded(action) {
  clearError();
  try {
    return await action();
  } catch (err) {
    if (err instanceof StaleAnswer) return undefined; // its key was dropped: show nothing
    showError(err);
    if (err.status === 401) disconnect(false);
    return undefined;
  }
}

// ---- session --------------------------------------------------------------------------

async function connect() {
  const stats = await api.stats();
  $("key-form").hidden = true;
  $("welcome").hidden = true;
  $("session").hidden = false;
  $("app").hidden = false;
  showStats(stats);
  await loadGraph();
  await loadMemories();
}

function showStats(stats) {
  const parts = ["entities", "relations", "memories"].filter((k) => k in stats).map((k) => `${stats[k]} ${k}`);
  const who = session.user ? `user ${session.user} · ` : "";
  $("session-stats").textContent = `Connected · ${who}${parts.join(" · ")}`;
}

function disconnect(clearMessage = true) {
  session.clear();
  if (clearMessage) clearError();
  $("key-form").hidden = false;
  $("welcome").hidden = false;
  $("session").hidden = true;
  $("app").hidden = true;
  $("key-input").value = "";
  Object.assign(state, { full: { nodes: [], edges: [] }, stops: [], asOf: "", validIds: null,
    selected: null, only: null, hits: [], hit: -1 });
  clearPanels();
  $("key-input").focus();
}

// What the last key was shown goes with it: the next key, in this tab, saw it all.
function clearPanels() {
  graphView.setGraph(state.full);
  draw();
  for (const id of ["session-stats", "search-note", "graph-note", "cypher-note", "mem-note"]) $(id).textContent = "";
  for (const id of ["hits", "legend", "entity-relations", "entity-facts"]) $(id).replaceChildren();
  for (const id of ["entity-name", "entity-meta"]) $(id).textContent = "";
  $("entity-body").hidden = true;
  $("entity-none").hidden = false;
  $("search-input").value = "";
  $("cypher-input").value = "";
  renderTable($("cypher-result"), []);
  $("memories").tBodies[0].replaceChildren();
  selectTab("tab-search", false);
}

// ---- graph ----------------------------------------------------------------------------

async function loadGraph() {
  state.full = await api.subgraph({ include_invalid: true, limit: GRAPH_LIMIT });
  graphView.setGraph(state.full);
  const dates = new Set();
  for (const e of state.full.edges) for (const t of [e.valid_at, e.invalid_at]) if (t) dates.add(t);
  state.stops = [...dates].sort();
  const slider = $("asof");
  slider.max = String(state.stops.length);
  slider.value = String(state.stops.length);
  state.asOf = "";
  state.validIds = null;
  showAsOf();
  $("graph-empty").hidden = state.full.nodes.length > 0;
  $("graph-note").textContent = state.full.truncated
    ? `Showing ${state.full.nodes.length} entities of a larger scope: pick one and show its neighbourhood.`
    : "";
  renderLegend();
  draw();
}

function draw() {
  const path = state.hit >= 0 ? state.hits[state.hit].path : [];
  graphView.render({
    asOf: state.asOf, validIds: state.validIds, selectedId: state.selected && state.selected.id,
    path, only: state.only,
  });
}

function renderLegend() {
  const types = [...new Set(state.full.nodes.map((n) => n.type || "other"))].sort();
  const swatch = (colour, cls = "swatch") => {
    const s = h("span", { class: cls, "aria-hidden": "true" });
    s.style.background = colour;
    return s;
  };
  $("legend").replaceChildren(
    ...types.map((t) => h("li", {}, swatch(typeColour(t)), t)),
    h("li", {}, h("span", { class: "line current", "aria-hidden": "true" }), "current relation"),
    h("li", {}, h("span", { class: "line superseded", "aria-hidden": "true" }), "superseded"),
    h("li", {}, h("span", { class: "line path", "aria-hidden": "true" }), "search path"));
}

function showAsOf() {
  const slider = $("asof");
  const i = Number(slider.value);
  state.asOf = i >= state.stops.length ? "" : state.stops[i];
  const text = state.asOf ? day(state.asOf) : "now";
  $("asof-value").textContent = text;
  slider.setAttribute("aria-valuetext", state.asOf ? `as of ${text}` : "now");
  slider.disabled = state.stops.length === 0;
}

let asOfTimer = null;
function onSlide() {
  showAsOf();
  clearTimeout(asOfTimer);
  // Wait for the slider to rest: holding an arrow key would otherwise send a request a step.
  asOfTimer = setTimeout(() => guarded(applyAsOf), 120);
}

async function applyAsOf() {
  const asOf = state.asOf;
  let valid = null;
  if (asOf) {
    const g = await api.subgraph({ as_of: asOf, limit: GRAPH_LIMIT });
    if (asOf !== state.asOf) return; // the slider moved on while we waited
    valid = new Set(g.edges.map((e) => e.id));
  }
  state.validIds = valid;
  draw();
  if (state.selected) await showEntity(state.selected);
}

// ---- entity -----------------------------------------------------------------------------

async function selectEntity(node) {
  state.selected = node;
  state.hit = -1;
  if (state.hits.length) renderHits($("hits"), state.hits, -1, pickHit);
  await loadNeighbourhood();
  draw();
  selectTab("tab-entity", false);
  await showEntity(node);
}

async function selectById(id) {
  const node = state.full.nodes.find((n) => n.id === id);
  if (!node) return;
  await selectEntity(node);
  const drawn = document.querySelector(`#graph .node[data-id="${CSS.escape(node.id)}"]`);
  if (drawn) drawn.focus();
}

async function loadNeighbourhood() {
  const depth = $("view-select").value;
  if (depth === "all" || !state.selected) { state.only = null; return; }
  const g = await api.subgraph({ entity: state.selected.id, depth, include_invalid: true });
  state.only = new Set(g.nodes.map((n) => n.id));
}

// By id, not name: two entities may share a name (of different types, or in sub-scopes).
async function showEntity(node) {
  const asOf = state.asOf;
  const [entity, rels, facts] = await Promise.all([
    api.entity(node.id), api.relations(node.id, { include_invalid: true }),
    api.factsAbout(node.id, asOf),
  ]);
  // Another entity (or date) was chosen while this one loaded: its answer is not shown.
  if (state.selected !== node || state.asOf !== asOf) return;
  $("entity-none").hidden = true;
  $("entity-body").hidden = false;
  $("entity-name").textContent = entity.name;
  const aliases = (entity.aliases || []).length ? ` · also: ${entity.aliases.join(", ")}` : "";
  $("entity-meta").textContent = `${entity.type || "entity"}${aliases}${state.asOf ? ` · as of ${day(state.asOf)}` : ""}`;
  renderRelations($("entity-relations"), rels.relations || [], entity.id, state.asOf, selectById);
  renderFacts($("entity-facts"), facts.facts || []);
}

// ---- search -----------------------------------------------------------------------------

let searches = 0;
async function search(ev) {
  ev.preventDefault();
  const query = $("search-input").value.trim();
  if (!query) return;
  const body = { query, limit: 10 };
  if (state.asOf) body.as_of = state.asOf;
  const ticket = ++searches;
  const result = await api.search(body);
  if (ticket !== searches) return; // a later search was asked while this one ran
  state.hits = (result.hits || []).map(normaliseHit);
  const longest = state.hits.reduce((best, hit, i) => (hit.path.length > (best < 0 ? 0 : state.hits[best].path.length) ? i : best), -1);
  state.selected = null;
  state.only = null;
  const when = state.asOf ? ` as of ${day(state.asOf)}` : "";
  $("search-note").textContent = state.hits.length ? `${state.hits.length} hits${when}.` : `No hits${when}.`;
  pickHit(longest);
}

// The hit whose path the graph highlights: the longest path by default (it explains the
// most), any other by choosing it in the list.
function pickHit(i) {
  state.hit = i;
  state.selected = null;
  renderHits($("hits"), state.hits, i, pickHit);
  const note = $("search-note");
  const base = note.firstChild ? note.firstChild.textContent : "";
  // The path in <bdi>: a name holding U+202E must not turn the page's words backwards.
  note.replaceChildren(base, ...(i >= 0 && state.hits[i].path.length
    ? [" Path shown: ", h("bdi", {}, pathText(state.hits[i].path))] : []));
  draw();
}

// ---- memories -----------------------------------------------------------------------------

async function loadMemories() {
  // One more than is shown, to know whether there are more.
  const data = await api.memories({ include_invalid: $("mem-invalid").checked, limit: MEMORY_LIMIT + 1 });
  const memories = data.memories || [];
  renderMemories($("memories").tBodies[0], memories.slice(0, MEMORY_LIMIT), toggleHistory);
  $("mem-note").textContent = memories.length > MEMORY_LIMIT
    ? `Showing the first ${MEMORY_LIMIT} memories of this scope: search for the others, or read them all with GET /v1/memories (limit and offset).`
    : "";
}

async function toggleHistory(memory, row, button) {
  const next = row.nextElementSibling;
  if (next && next.classList.contains("history")) {
    next.remove();
    button.setAttribute("aria-expanded", "false");
    return;
  }
  await guarded(async () => {
    const data = await api.history(memory.id);
    row.after(historyRow(data.events || []));
    button.setAttribute("aria-expanded", "true");
  });
}

// ---- cypher -------------------------------------------------------------------------------

async function runCypher(ev) {
  ev.preventDefault();
  const query = $("cypher-input").value.trim();
  if (!query) return;
  $("cypher-note").textContent = "Running…";
  try {
    const data = await api.cypher(query);
    const rows = data.rows || [];
    renderTable($("cypher-result"), rows);
    $("cypher-note").textContent = `${rows.length} row${rows.length === 1 ? "" : "s"}.`;
  } catch (err) {
    $("cypher-note").textContent = "Query failed.";
    renderTable($("cypher-result"), []);
    throw err;
  }
}

// ---- tabs ---------------------------------------------------------------------------------

const tabs = () => [...document.querySelectorAll('[role="tab"]')];

function selectTab(id, focus = true) {
  for (const tab of tabs()) {
    const on = tab.id === id;
    tab.setAttribute("aria-selected", on ? "true" : "false");
    tab.tabIndex = on ? 0 : -1;
    $(tab.getAttribute("aria-controls")).hidden = !on;
    if (on && focus) tab.focus();
  }
}

function tabKeys(ev) {
  const list = tabs();
  const i = list.indexOf(ev.target);
  const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: list.length - 1 }[ev.key];
  if (to === undefined) return;
  ev.preventDefault();
  selectTab(list[(to + list.length) % list.length].id);
}

// ---- start --------------------------------------------------------------------------------

function start() {
  graphView = new GraphView($("graph"), { onSelect: (node) => guarded(() => selectEntity(node)) });
  $("key-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    session.save($("key-input").value.trim(), $("user-input").value.trim());
    // The form disappears once connected, dropping focus to the page: hand it to the
    // next thing one does, unless the user has already moved on.
    guarded(connect).then(() => {
      const lost = !document.activeElement || document.activeElement === document.body;
      if (!$("app").hidden && lost) $("search-input").focus();
    });
  });
  $("disconnect").addEventListener("click", () => disconnect());
  $("asof").addEventListener("input", onSlide);
  $("asof-now").addEventListener("click", () => {
    $("asof").value = $("asof").max;
    onSlide();
  });
  $("view-select").addEventListener("change", () => guarded(async () => { await loadNeighbourhood(); graphView.view = null; draw(); }));
  $("search-form").addEventListener("submit", (ev) => guarded(() => search(ev)));
  $("cypher-form").addEventListener("submit", (ev) => guarded(() => runCypher(ev)));
  $("cypher-input").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey) {
      ev.preventDefault();
      $("cypher-form").requestSubmit();
    }
  });
  $("mem-invalid").addEventListener("change", () => guarded(loadMemories));
  $("mem-reload").addEventListener("click", () => guarded(loadMemories));
  for (const tab of tabs()) {
    tab.addEventListener("click", () => selectTab(tab.id));
    tab.addEventListener("keydown", tabKeys);
  }
  if (session.key) {
    $("user-input").value = session.user;
    guarded(connect);
  } else {
    $("key-input").focus();
  }
}

start();
