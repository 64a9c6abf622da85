"""The web explorer at /ui, driven by headless Chromium against a real ``graphmem serve``.

The server is a subprocess on 127.0.0.1 with its own data directory; everything the page
shows was added through the REST API with a user's key. Screenshots of each step land in
``$GRAPHMEM_SCREENSHOTS`` when set, else in a pytest temp dir (never in the repository).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
import pytest

from graphmem.testing.server import ServedMemory

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
# The machine running the suite may be busy: give the page time, never a fixed sleep.
expect.set_options(timeout=20_000)

# Debian's chromium: Playwright's own browser download needs the network.
CHROMIUM = "/usr/bin/chromium"

STORY = [
    ("Alice works at Acme.", "2024-01-10"),
    ("Bob is Alice's brother.", "2024-02-01"),
    ("Bob lives in Paris.", "2024-02-01"),
    ("Alice moved from Acme to Globex.", "2024-06-15"),
]
OTHER_USER = [("Dave works at Initech.", "2024-03-03")]
# A third user's chat with the assistant, saved as the turns since the last save.
CHAT = [{"role": "user", "content": "Where should I eat in Lyon on Friday?"},
        {"role": "assistant", "content": "Try Café Comptoir Abel, it serves classic quenelles."},
        {"role": "user", "content": "Thanks, I will book a table there for two."}]  # fmt: skip
TWO_HOP = "Alice -[brother]-> Bob ; Bob -[lives_in]-> Paris"


class Served:
    def __init__(self, url: str, keys: dict[str, str]) -> None:
        self.url, self.keys = url, keys


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A real ``graphmem serve`` (offline extractor, hashing embedder) holding two users'
    memories, each written through the REST API with that user's own key."""
    env = {"GRAPHMEM_EXTRACTOR": "offline"}
    with ServedMemory(tmp_path_factory.mktemp("served"), embedder="hash", env=env) as srv:
        keys = {user: srv.keys.create(user_id=user)[0] for user in ("alice", "dave", "erin")}
        keys["admin"] = srv.keys.create(admin=True)[0]
        with httpx.Client(base_url=srv.url, timeout=60) as http:
            for user, lines in (("alice", STORY), ("dave", OTHER_USER)):
                for text, day in lines:
                    auth = {"Authorization": f"Bearer {keys[user]}"}
                    reply = http.post("/v1/memories", headers=auth,
                                      json={"text": text, "timestamp": day})  # fmt: skip
                    assert reply.status_code == 200, reply.text
            # A memory whose metadata carries a type and an importance, as agents add them.
            note = {"text": "Keep answers short.", "infer": False,
                    "metadata": {"type": "preference", "importance": 0.8}}  # fmt: skip
            reply = http.post("/v1/memories", headers={"Authorization": f"Bearer {keys['alice']}"},
                              json=note)  # fmt: skip
            assert reply.status_code == 200, reply.text
            reply = http.post("/v1/memories", headers={"Authorization": f"Bearer {keys['erin']}"},
                              json={"messages": CHAT})  # fmt: skip
            assert reply.status_code == 200, reply.text
        yield Served(srv.url, keys)


@pytest.fixture(scope="module")
def browser():
    assert Path(CHROMIUM).exists(), (
        f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium); "
        "Playwright's own browser download does not work offline"
    )
    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    where = os.environ.get("GRAPHMEM_SCREENSHOTS")
    if where:
        Path(where).mkdir(parents=True, exist_ok=True)
        return Path(where)
    return tmp_path_factory.mktemp("explorer-screenshots")


@pytest.fixture
def page(browser, served, shots, request):
    """A laptop-sized page; fails the test on any script error the page raised, and on
    any request that leaves the server's origin (the page must work offline)."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    tab = context.new_page()
    errors: list[str] = []
    elsewhere: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("request", lambda req: None if req.url.startswith((served.url + "/", "data:"))
           else elsewhere.append(req.url))  # fmt: skip
    tab.goto(served.url + "/ui/")
    yield tab
    tab.screenshot(path=str(shots / f"{request.node.name}.png"))
    context.close()
    assert not errors, errors
    assert not elsewhere, elsewhere


def connect(page, key, *, works=True):
    page.get_by_label("API key", exact=True).fill(key)
    page.get_by_label("API key", exact=True).press("Enter")  # Enter submits: no mouse needed
    if works:  # loaded: the graph drawn (or said empty) and focus handed to the question
        expect(page.get_by_label("Question")).to_be_focused()


def node(page, name):
    return page.locator(f'#graph .node[data-name="{name}"]')


def edge(page, source, relation, target):
    return page.locator(
        f'#graph .edge[data-source="{source}"][data-relation="{relation}"][data-target="{target}"]'
    )


def test_the_files_are_served_under_a_policy_that_allows_only_their_origin(served):
    with httpx.Client(base_url=served.url) as http:
        assert http.get("/ui").status_code in (301, 307, 308)  # to /ui/
        page = http.get("/ui/")
        script = http.get("/ui/app.js")
    assert page.status_code == 200 and "graphmem explorer" in page.text
    assert script.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"


def test_the_page_loads_with_a_key_and_keeps_it_for_the_tab_only(page, served, shots):
    expect(page.get_by_label("API key", exact=True)).to_have_attribute("type", "password")
    connect(page, served.keys["alice"])
    for name in ("Alice", "Bob", "Paris", "Acme", "Globex"):
        expect(node(page, name)).to_be_visible()
    expect(page.locator("#session-stats")).to_contain_text("5 memories")
    assert page.evaluate("sessionStorage.getItem('graphmem.key')") == served.keys["alice"]
    assert page.evaluate("localStorage.length") == 0
    page.reload()  # same tab: no second prompt
    expect(node(page, "Alice")).to_be_visible()
    expect(page.get_by_label("API key", exact=True)).to_be_hidden()
    page.screenshot(path=str(shots / "graph.png"))
    page.get_by_role("button", name="Disconnect").click()
    expect(page.get_by_label("API key", exact=True)).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('graphmem.key')") is None


def test_a_two_hop_question_shows_the_connecting_path(page, served, shots):
    connect(page, served.keys["alice"])
    box = page.get_by_label("Question")
    box.fill("where does Alice's brother live?")
    box.press("Enter")
    hit = page.locator(f'.hit[data-path="{TWO_HOP}"]')
    expect(hit).to_contain_text("Bob lives in Paris.")
    expect(hit.locator(".chip.ch-graph")).to_be_visible()  # the channels it came from
    expect(hit.locator("dt", has_text=re.compile("^graph$"))).to_be_visible()  # score parts
    hit.get_by_role("button").click()
    expect(hit).to_have_class(re.compile("selected"))
    lit = page.locator("#graph .edge.on-path")
    expect(lit).to_have_count(2)
    expect(edge(page, "Alice", "brother", "Bob")).to_have_class(re.compile("on-path"))
    expect(edge(page, "Bob", "lives_in", "Paris")).to_have_class(re.compile("on-path"))
    for name in ("Alice", "Bob", "Paris"):
        expect(node(page, name)).to_have_class(re.compile("on-path"))
    expect(node(page, "Globex")).not_to_have_class(re.compile("on-path"))
    page.screenshot(path=str(shots / "search-path.png"))
    # Choosing a one-hop hit moves the highlight to its own path.
    one_hop = page.locator('.hit[data-path="Alice -[brother]-> Bob"]').first
    one_hop.get_by_role("button").click()
    expect(lit).to_have_count(1)
    expect(edge(page, "Bob", "lives_in", "Paris")).not_to_have_class(re.compile("on-path"))


def test_a_hit_says_who_said_it(page, served):
    connect(page, served.keys["erin"])
    page.get_by_label("Question").fill("Which cafe serves quenelles?")
    page.get_by_label("Question").press("Enter")
    advice = page.locator(".hit", has_text="Comptoir Abel")
    # The assistant's turn alone, marked as the assistant's, not the whole chat as one hit.
    expect(advice.first.locator(".hit-text")).to_have_text(CHAT[1]["content"])
    expect(advice.first.locator(".chip.said")).to_have_text("said by the assistant")
    booked = page.locator(".hit", has_text="book a table")
    expect(booked.first).to_be_visible()
    expect(booked.first.locator(".chip.said")).to_have_count(0)  # the user's own words


def test_clicking_an_entity_shows_its_relations(page, served):
    connect(page, served.keys["alice"])
    node(page, "Alice").click()
    expect(page.get_by_role("tab", name="Entity")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#entity-name")).to_have_text("Alice")
    rels = page.locator("#entity-relations .relation")
    expect(rels.filter(has_text="Globex")).to_have_attribute("data-status", "current")
    expect(rels.filter(has_text="Acme")).to_have_attribute("data-status", "superseded")
    expect(rels.filter(has_text="Bob")).to_have_attribute("data-relation", "brother")
    expect(node(page, "Alice")).to_have_attribute("aria-pressed", "true")
    # Keyboard: an entity is a focusable button; Enter selects it.
    node(page, "Paris").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#entity-name")).to_have_text("Paris")
    expect(rels.filter(has_text="Bob")).to_have_attribute("data-relation", "lives_in")
    # Following a relation from the panel selects the entity at its other end.
    rels.filter(has_text="Bob").get_by_role("button", name="Select Bob").click()
    expect(page.locator("#entity-name")).to_have_text("Bob")
    # Its 1-hop neighbourhood alone: Alice and Paris stay, Alice's employers go.
    page.get_by_label("Which part of the graph to show").select_option("1")
    expect(node(page, "Acme")).to_have_count(0)
    expect(page.locator("#graph .node")).to_have_count(3)
    page.get_by_label("Which part of the graph to show").select_option("all")
    expect(node(page, "Acme")).to_be_visible()


def test_moving_the_date_slider_back_shows_the_old_employer(page, served, shots):
    connect(page, served.keys["alice"])
    acme = edge(page, "Alice", "works_at", "Acme")
    globex = edge(page, "Alice", "works_at", "Globex")
    # Now: Globex is current, Acme drawn as superseded (dashed, grey).
    expect(globex).to_have_attribute("data-status", "current")
    expect(acme).to_have_attribute("data-status", "superseded")
    node(page, "Alice").click()
    slider = page.get_by_label("As of")
    slider.focus()
    shown = page.locator("#asof-value")
    for _ in range(10):  # step back, one change at a time, to before the move to Globex
        if shown.inner_text() != "now" and shown.inner_text() < "2024-06-15":
            break
        page.keyboard.press("ArrowLeft")
    expect(page.locator("#asof-value")).to_have_text(re.compile(r"^2024-0[1-5]-\d\d$"))
    expect(acme).to_have_attribute("data-status", "current")
    expect(globex).to_have_count(0)  # not yet true then
    rels = page.locator("#entity-relations .relation")
    expect(rels.filter(has_text="Acme")).to_have_attribute("data-status", "current")
    expect(rels.filter(has_text="Globex")).to_have_attribute("data-status", "later")
    page.screenshot(path=str(shots / "as-of.png"))
    page.get_by_role("button", name="Now").click()
    expect(page.locator("#asof-value")).to_have_text("now")
    expect(globex).to_have_attribute("data-status", "current")


def test_the_cypher_console_runs_read_only_queries(page, served):
    connect(page, served.keys["alice"])
    page.get_by_role("tab", name="Search").focus()
    page.keyboard.press("End")  # arrow keys move between tabs
    expect(page.get_by_role("tab", name="Cypher")).to_have_attribute("aria-selected", "true")
    console = page.get_by_label("Read-only Cypher over this scope")
    console.fill("MATCH (e:Entity) RETURN e.name AS name, e.type AS type ORDER BY name")
    console.press("Enter")
    table = page.locator("#cypher-result")
    expect(table.locator("thead th")).to_have_text(["name", "type"])
    names = table.locator("tbody tr td:first-child")
    expect(names.filter(has_text=re.compile("^Globex$"))).to_have_count(1)
    assert "Initech" not in names.all_inner_texts()  # another user's entity
    expect(page.locator("#cypher-note")).to_have_text(re.compile(r"^\d+ rows\.$"))
    # A write is refused with the server's own explanation, and nothing is shown as rows.
    console.fill("MATCH (e:Entity) DETACH DELETE e")
    console.press("Enter")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(re.compile("read-only|read only", re.I))
    expect(table.locator("tbody tr")).to_have_count(0)
    expect(page.locator("#cypher-note")).to_have_text("Query failed.")


def test_the_memory_list_shows_validity_and_history(page, served):
    connect(page, served.keys["alice"])
    page.get_by_role("tab", name="Memories").click()
    old = page.locator("#memories tbody tr", has_text="Alice works at Acme.")
    expect(old).to_have_class(re.compile("superseded"))
    expect(old).to_contain_text("superseded 2024-06-15")
    current = page.locator("#memories tbody tr", has_text="Alice moved from Acme to Globex.")
    expect(current).to_contain_text("from 2024-06-15, current")
    old.get_by_role("button", name=re.compile("^History of")).click()
    events = page.locator("#memories tr.history li")
    expect(events.first).to_contain_text("ADD")
    expect(events.filter(has_text="INVALIDATE")).to_have_count(1)
    note = page.locator("#memories tbody tr", has_text="Keep answers short.")
    expect(note.locator("td").nth(1)).to_have_text("preference")
    expect(note.locator("td").nth(2)).to_have_text("0.800")
    page.get_by_label("include superseded").uncheck()
    expect(page.locator("#memories tbody tr", has_text="Alice works at Acme.")).to_have_count(0)


def test_a_key_for_another_user_sees_none_of_it(page, served, shots):
    connect(page, served.keys["dave"])
    expect(node(page, "Initech")).to_be_visible()  # the key works: dave's own graph
    expect(page.locator("#graph .node")).to_have_count(2)
    for name in ("Alice", "Bob", "Paris", "Acme", "Globex"):
        expect(node(page, name)).to_have_count(0)
    page.get_by_label("Question").fill("where does Alice's brother live?")
    page.get_by_label("Question").press("Enter")
    expect(page.locator("#search-note")).to_have_text(re.compile(r"^(No hits|\d+ hits)"))
    expect(page.locator(".hit", has_text="Alice")).to_have_count(0)
    page.get_by_role("tab", name="Memories").click()
    expect(page.locator("#memories tbody tr")).to_have_count(1)
    expect(page.locator("#memories tbody")).to_contain_text("Dave works at Initech.")
    page.get_by_role("tab", name="Cypher").click()
    console = page.get_by_label("Read-only Cypher over this scope")
    console.fill("MATCH (e:Entity) RETURN e.name AS name")
    console.press("Enter")
    expect(page.locator("#cypher-result tbody tr")).to_have_count(2)
    expect(page.locator("#cypher-result tbody")).not_to_contain_text("Alice")
    page.screenshot(path=str(shots / "other-user.png"))


def test_an_admin_key_names_the_user_it_looks_at(page, served):
    page.get_by_label("User", exact=True).fill("dave")
    connect(page, served.keys["admin"])
    expect(page.locator("#session-stats")).to_contain_text("user dave")
    expect(node(page, "Initech")).to_be_visible()
    expect(node(page, "Alice")).to_have_count(0)
    node(page, "Dave").click()
    expect(page.locator("#entity-relations .relation")).to_have_attribute("data-other", "Initech")


def test_the_keyboard_alone_reaches_everything_with_a_visible_focus(page, served):
    def focused():
        return page.evaluate("document.activeElement.id || document.activeElement.textContent")

    def outline():
        return page.evaluate("getComputedStyle(document.activeElement).outlineStyle")

    assert focused() == "key-input"  # ready to type on arrival
    page.keyboard.type(served.keys["alice"])
    page.keyboard.press("Enter")
    expect(page.get_by_label("Question")).to_be_focused()
    page.keyboard.type("where does Alice's brother live?")
    page.keyboard.press("Enter")
    expect(page.locator(".hit").first).to_be_visible()
    page.keyboard.press("Tab")  # the Search button, then the first hit
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.classList.contains('hit-pick')")
    assert outline() != "none"
    page.keyboard.press("Enter")
    expect(page.locator(".hit").first).to_have_class(re.compile("selected"))
    # Backwards from the panel lands on the graph's entities, then its controls.
    page.get_by_role("tab", name="Search").focus()
    page.keyboard.press("Shift+Tab")
    last = page.evaluate("document.activeElement.getAttribute('data-name')")
    names = page.locator("#graph .node").evaluate_all("ns => ns.map(n => n.dataset.name)")
    assert last == names[-1] and names == sorted(names, key=str.casefold)
    stroke = page.evaluate(
        "getComputedStyle(document.activeElement.querySelector('circle')).strokeWidth"
    )
    assert float(stroke.removesuffix("px")) >= 5  # the focus ring on an entity
    page.keyboard.press("Enter")
    expect(page.locator("#entity-name")).to_have_text(last)


def test_a_wrong_key_gets_a_readable_message(page, served):
    connect(page, "gm_not-a-real-key", works=False)
    alert = page.get_by_role("alert")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("Enter another key.")
    assert "{" not in alert.inner_text()  # the problem's words, not its JSON
    expect(page.get_by_label("API key", exact=True)).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('graphmem.key')") is None


def test_after_disconnect_the_next_key_sees_nothing_the_last_one_was_shown(page, served):
    """Disconnect hid the app but left alice's hits, entity panel and Cypher rows in the
    page: dave, connecting next in the same tab, saw them under his own header."""
    connect(page, served.keys["alice"])
    page.get_by_label("Question").fill("where does Alice's brother live?")
    page.get_by_label("Question").press("Enter")
    expect(page.locator(".hit", has_text="Bob lives in Paris.")).to_be_visible()
    node(page, "Bob").click()
    expect(page.locator("#entity-name")).to_have_text("Bob")
    page.get_by_role("tab", name="Cypher").click()
    console = page.get_by_label("Read-only Cypher over this scope")
    console.fill("MATCH (e:Entity) RETURN e.name AS name")
    console.press("Enter")
    expect(page.locator("#cypher-result tbody")).to_contain_text("Alice")
    page.get_by_role("button", name="Disconnect").click()
    connect(page, served.keys["dave"])
    expect(node(page, "Initech")).to_be_visible()
    body = page.locator("#app")
    for seen in ("Bob lives in Paris.", "Alice", "Paris", "Acme"):
        expect(body).not_to_contain_text(seen)
    page.get_by_role("tab", name="Entity").click()
    expect(page.locator("#entity-none")).to_be_visible()


def test_an_answer_for_a_key_dropped_meanwhile_is_never_shown(page, served):
    """A slow search answered after Disconnect and a new key: it was drawn anyway."""
    connect(page, served.keys["alice"])
    release = []
    page.route("**/v1/search", lambda route: release.append(route))
    page.get_by_label("Question").fill("where does Alice's brother live?")
    page.get_by_label("Question").press("Enter")
    for _ in range(400):  # the route handler runs while the page is waited on
        if release:
            break
        page.wait_for_timeout(50)
    assert release, "the search never left the page"
    page.get_by_role("button", name="Disconnect").click()
    connect(page, served.keys["dave"])
    with page.expect_response("**/v1/search"):
        release[0].continue_()
    # Nothing to wait for when nothing is drawn: give the page's handler a moment to run.
    page.evaluate("() => new Promise((done) => setTimeout(done, 300))")
    expect(page.locator(".hit")).to_have_count(0)
    expect(page.locator("#app")).not_to_contain_text("Bob lives in Paris.")
    expect(page.locator("#message")).to_be_hidden()


def _as_admin(served, path, body):
    reply = httpx.post(served.url + path, json=body, timeout=60,
                       headers={"Authorization": f"Bearer {served.keys['admin']}"})  # fmt: skip
    assert reply.status_code == 200, reply.text


def test_entity_types_named_like_object_members_get_a_colour(page, served):
    """A type looked up in a plain object: "constructor" read Object's own function."""
    triples = [{"source": "Cy", "relation": "builds", "target": "Ark",
                "source_type": "constructor", "target_type": "__proto__"}]  # fmt: skip
    _as_admin(served, "/v1/triples", {"user_id": "cora", "triples": triples})
    page.get_by_label("User", exact=True).fill("cora")
    connect(page, served.keys["admin"])
    for name in ("Cy", "Ark"):
        fill = node(page, name).locator("circle").first.get_attribute("fill") or ""
        assert re.fullmatch(r"#[0-9a-fA-F]{6}|hsl\(.*\)|rgb\(.*\)", fill), (name, fill)


def test_a_scope_with_more_memories_than_the_list_shows_says_so(page, served):
    items = [{"text": f"Errand number {n} is done."} for n in range(205)]
    _as_admin(served, "/v1/memories/batch", {"user_id": "many", "items": items, "infer": False})
    page.get_by_label("User", exact=True).fill("many")
    connect(page, served.keys["admin"])
    page.get_by_role("tab", name="Memories").click()
    expect(page.locator("#memories tbody tr")).to_have_count(200)
    expect(page.locator("#mem-note")).to_contain_text("Showing the first 200 memories")


# Markup a user's data may hold: an entity named by it, a memory's text, metadata.
MARKUP = '<img src=x onerror="window.__pwned=1">'
SCRIPT = "<script>window.__pwned=2</script>"


def test_markup_in_names_and_memories_is_shown_as_text_and_never_runs(page, served):
    """What a user stored is data to the page: a name or a memory holding HTML shows its
    characters, runs nothing, and breaks no selector or attribute it lands in."""
    triples = [{"source": MARKUP, "relation": "knows", "target": "Quote\" Mark's"}]
    _as_admin(served, "/v1/triples", {"user_id": "mallory", "triples": triples})
    _as_admin(served, "/v1/memories/batch", {"user_id": "mallory", "infer": False, "items": [
        {"text": f"{SCRIPT} Mallory keeps a <b>bold</b> diary.",
         "metadata": {"type": SCRIPT, "note": MARKUP}}]})  # fmt: skip
    page.get_by_label("User", exact=True).fill("mallory")
    connect(page, served.keys["admin"])
    drawn = page.locator("#graph .node", has_text="<img src=x")
    expect(drawn).to_have_count(1)
    drawn.click()
    expect(page.locator("#entity-name")).to_have_text(MARKUP)
    expect(page.locator("#entity-relations .relation")).to_contain_text("Quote\" Mark's")
    page.get_by_role("tab", name="Search").click()
    box = page.get_by_label("Question")
    box.fill(f"What does Mallory keep? {SCRIPT}")
    box.press("Enter")
    expect(page.locator(".hit").first).to_contain_text(f"{SCRIPT} Mallory keeps a <b>bold</b>")
    page.get_by_role("tab", name="Memories").click()
    row = page.locator("#memories tbody tr", has_text="Mallory keeps a")
    expect(row.locator("td").first).to_have_text(f"{SCRIPT} Mallory keeps a <b>bold</b> diary.")
    # Nothing ran, and the page grew no element from the data.
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#graph img, .hit b, #memories b, script:not([src])").count() == 0
