"""The model's ADD / UPDATE / DELETE / NONE decisions, as the prompt defines them, through
the real openai client against the local scripted server (``ingest/pipeline._decide``).

The prompt has an UPDATE's text be the merged memory to keep and a NONE's the stored
memory's text, so neither is the new fact's text.
"""

from __future__ import annotations

from graphmem import Memory
from graphmem.llm.client import Backoff, OpenAIChat
from graphmem.llm.extract import LLMExtractor
from graphmem.testing import OpenAIServer, ok_tool_call


def _likes(text: str, what: str) -> dict:
    return {"facts": [{"text": text}],
            "entities": [{"name": "Alice", "type": "person", "aliases": []},
                         {"name": what, "type": "object", "aliases": []}],
            "relations": [{"source": "Alice", "relation": "likes", "target": what, "fact": 0}]}  # fmt: skip


def _memory(tmp_path, srv) -> Memory:
    chat = OpenAIChat("test-model", base_url=srv.base_url, api_key="test-key",
                      backoff=Backoff(0.01, 0.02))  # fmt: skip
    return Memory.open(tmp_path / "data", embedder="hash", extractor=LLMExtractor(chat),
                       update_threshold=0.01)  # fmt: skip


def test_an_update_stores_the_merged_memory_the_model_wrote(tmp_path):
    merged = "Alice likes tea and coffee."
    with OpenAIServer() as srv, _memory(tmp_path, srv) as m:
        srv.script(ok_tool_call(_likes("Alice likes tea.", "tea")))
        (old,) = m.add("I like tea.", user_id="alice").facts
        srv.script(ok_tool_call(_likes("Alice also likes coffee.", "coffee")),
                   ok_tool_call({"decisions": [{"event": "UPDATE", "id": "0", "text": merged}]}))  # fmt: skip
        result = m.add("I also like coffee.", user_id="alice")
        assert [f.text for f in m.get_all(user_id="alice")] == [merged]
        assert [f.text for f in result.facts] == [merged]
        assert m.get(old.id, user_id="alice").invalid_at  # superseded, still in history
        hits = m.search("tea and coffee", user_id="alice", limit=1)
        assert hits[0].memory_id == result.facts[0].id
        assert m.verify().ok


def test_a_none_naming_the_stored_text_stores_no_duplicate_and_no_orphan_entities(tmp_path):
    with OpenAIServer() as srv, _memory(tmp_path, srv) as m:
        srv.script(ok_tool_call(_likes("Alice likes tea.", "tea")))
        m.add("I like tea.", user_id="alice")
        again = _likes("Alice likes tea!", "tea")
        again["entities"].append({"name": "Zoe Phantom", "type": "person", "aliases": []})
        srv.script(ok_tool_call(again), ok_tool_call(
            {"decisions": [{"event": "NONE", "id": "0", "text": "Alice likes tea."}]}))  # fmt: skip
        result = m.add("I like tea!", user_id="alice")
        assert result.facts == []
        assert [f.text for f in m.get_all(user_id="alice")] == ["Alice likes tea."]
        names = {r["name"] for r in m.cypher("MATCH (e:Entity) RETURN e.name AS name",
                                              user_id="alice")}  # fmt: skip
        assert "Zoe Phantom" not in names  # named only by the dropped fact: not written
        m.delete_all(user_id="alice")
        assert m.cypher("MATCH (e:Entity) RETURN count(e) AS n", user_id="alice") == [{"n": 0}]
        assert m.verify().ok


def test_an_update_that_fits_no_new_fact_leaves_the_stored_memory_as_it_is(tmp_path):
    with OpenAIServer() as srv, _memory(tmp_path, srv) as m:
        srv.script(ok_tool_call(_likes("Alice likes tea.", "tea")))
        m.add("I like tea.", user_id="alice")
        two = _likes("Alice likes jazz.", "jazz")
        two["facts"].append({"text": "Alice owns a red bicycle."})
        srv.script(ok_tool_call(two), ok_tool_call({"decisions": [
            {"event": "UPDATE", "id": "0", "text": "Alice prefers green tea."}]}))  # fmt: skip
        m.add("I like jazz. I own a red bicycle.", user_id="alice")
        texts = sorted(f.text for f in m.get_all(user_id="alice"))
        assert texts == ["Alice likes jazz.", "Alice likes tea.", "Alice owns a red bicycle."]
        assert m.verify().ok


def test_deleting_a_merged_memory_gives_back_what_it_replaced(tmp_path):
    """The model merged "likes tea" into "likes tea and coffee"; deleting the merge lost
    the tea, since the memory it replaced stayed invalidated."""
    with OpenAIServer() as srv, _memory(tmp_path, srv) as m:
        srv.script(ok_tool_call(_likes("Alice likes tea.", "tea")))
        (old,) = m.add("I like tea.", user_id="alice").facts
        srv.script(ok_tool_call(_likes("Alice also likes coffee.", "coffee")), ok_tool_call(
            {"decisions": [{"event": "UPDATE", "id": "0", "text": "Alice likes tea and coffee."}]}))  # fmt: skip
        (merged,) = m.add("I also like coffee.", user_id="alice").facts
        assert m.history(merged.id, user_id="alice")[0].details["replaces"] == [old.id]
        m.delete(merged.id, user_id="alice")
        assert [f.text for f in m.get_all(user_id="alice")] == ["Alice likes tea."]
        assert m.get(old.id, user_id="alice").invalid_at == ""
        assert [h.memory_id for h in m.search("tea", user_id="alice", limit=1)] == [old.id]
        assert m.history(old.id, user_id="alice")[-1].event == "REOPEN"
        assert m.verify().ok


def test_deleting_a_memory_leaves_what_another_one_replaced_as_it_was(tmp_path):
    with OpenAIServer() as srv, _memory(tmp_path, srv) as m:
        srv.script(ok_tool_call(_likes("Alice likes tea.", "tea")))
        (old,) = m.add("I like tea.", user_id="alice").facts
        srv.script(ok_tool_call(_likes("Alice likes coffee now.", "coffee")), ok_tool_call(
            {"decisions": [{"event": "DELETE", "id": "0", "text": "Alice likes tea."},
                           {"event": "ADD", "text": "Alice likes coffee now."}]}))  # fmt: skip
        m.add("I like coffee now.", user_id="alice")
        srv.script(ok_tool_call(_likes("Alice likes jazz.", "jazz")), ok_tool_call(
            {"decisions": [{"event": "ADD", "text": "Alice likes jazz."}]}))  # fmt: skip
        (jazz,) = m.add("I like jazz.", user_id="alice").facts
        m.delete(jazz.id, user_id="alice")
        assert m.get(old.id, user_id="alice").invalid_at != ""  # coffee still replaces it
        assert sorted(f.text for f in m.get_all(user_id="alice")) == ["Alice likes coffee now."]
