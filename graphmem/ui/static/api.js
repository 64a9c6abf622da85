// The REST client: one function per call the explorer makes, the key kept per tab.
// Errors become ApiError carrying the problem+json document the server sent.

const KEY = "graphmem.key";
const USER = "graphmem.user";

export class ApiError extends Error {
  constructor(status, problem) {
    const title = problem.title || `HTTP ${status}`;
    const detail = problem.detail ? `: ${problem.detail}` : "";
    super(`${title}${detail}`);
    this.status = status;
    this.problem = problem;
  }
}

// An answer that arrives after its key was replaced or dropped: never shown.
export class StaleAnswer extends Error {}

// sessionStorage: the key survives a reload of this tab and dies with it. ``epoch`` counts
// the keys this tab has held, so an answer can tell whether its key is still the one.
export const session = {
  epoch: 0,
  get key() { return sessionStorage.getItem(KEY) || ""; },
  get user() { return sessionStorage.getItem(USER) || ""; },
  save(key, user) {
    this.epoch += 1;
    sessionStorage.setItem(KEY, key);
    if (user) sessionStorage.setItem(USER, user); else sessionStorage.removeItem(USER);
  },
  clear() { this.epoch += 1; sessionStorage.removeItem(KEY); sessionStorage.removeItem(USER); },
};

async function problemOf(response) {
  const text = await response.text();
  try {
    const body = JSON.parse(text);
    if (body && typeof body === "object") {
      // FastAPI's own 422 bodies are {"detail": [...]}: flatten them into one line.
      if (Array.isArray(body.detail)) {
        body.detail = body.detail.map((d) => `${(d.loc || []).join(".")}: ${d.msg}`).join("; ");
      }
      return body;
    }
  } catch (_) { /* not JSON: fall through to the raw text */ }
  return { title: response.statusText || "Error", detail: text.slice(0, 300) };
}

async function call(method, path, { query = {}, body } = {}) {
  const epoch = session.epoch;
  try {
    const answer = await send(method, path, query, body);
    if (epoch !== session.epoch) throw new StaleAnswer("answer for a key no longer in use");
    return answer;
  } catch (err) {
    if (epoch !== session.epoch) throw new StaleAnswer("answer for a key no longer in use");
    throw err;
  }
}

async function send(method, path, query, body) {
  const params = new URLSearchParams();
  const user = session.user;
  if (user && method !== "POST") params.set("user_id", user);
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== "") params.set(k, String(v));
  }
  const qs = params.toString();
  const headers = { Authorization: `Bearer ${session.key}`, Accept: "application/json" };
  const init = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(user ? { user_id: user, ...body } : body);
  }
  let response;
  try {
    response = await fetch(`/v1${path}${qs ? `?${qs}` : ""}`, init);
  } catch (err) {
    throw new ApiError(0, { title: "The server cannot be reached", detail: String(err.message || err) });
  }
  if (!response.ok) {
    const problem = await problemOf(response);
    if (response.status === 429) {
      const wait = response.headers.get("Retry-After");
      if (wait) problem.detail = `${problem.detail || "too many requests"} (retry in ${wait} s)`;
    }
    throw new ApiError(response.status, problem);
  }
  return response.json();
}

const enc = encodeURIComponent;

export const api = {
  stats: () => call("GET", "/stats"),
  subgraph: (opts) => call("GET", "/subgraph", { query: opts }),
  relations: (entity, opts) => call("GET", "/relations", { query: { entity, ...opts } }),
  entity: (name) => call("GET", `/entities/${enc(name)}`),
  factsAbout: (entity, asOf) => call("GET", "/facts_about", { query: { entity, as_of: asOf, limit: 50 } }),
  memories: (opts) => call("GET", "/memories", { query: opts }),
  history: (id) => call("GET", `/memories/${enc(id)}/history`),
  search: (body) => call("POST", "/search", { body }),
  cypher: (query) => call("POST", "/cypher", { body: { query } }),
};
