"""Ingest through the real openai client against a local scripted model server."""

from __future__ import annotations

import pytest

from graphmem import ExtractionError, LLMError, Memory
from graphmem.lifecycle import MEMORY_TYPES
from graphmem.llm.client import Backoff, OpenAIChat
from graphmem.llm.extract import LLMExtractor
from graphmem.testing import OpenAIServer, error, ok_tool_call, raw_content

NO_TYPES = dict.fromkeys(MEMORY_TYPES, 0)
NOTHING = {"entities": 0, "facts": 0, "relations": 0, "memories": 0, "memory_types": NO_TYPES}

P, ORG, L = "person", "organization", "location"


def ent(name, kind, *aliases):
    return {"name": name, "type": kind, "aliases": list(aliases)}


def rel(src, name, dst, fact=0, valid_at=None):
    return {"source": src, "relation": name, "target": dst, "fact": fact, "valid_at": valid_at}


ANSWERS = {
    "Alice works at Acme.": {
        "facts": [{"text": "Alice works at Acme."}],
        "entities": [ent("Alice", P), ent("Acme", ORG)],
        "relations": [rel("Alice", "works_at", "Acme")],
    },
    "Alice moved from Acme to Globex.": {
        "facts": [{"text": "Alice moved from Acme to Globex.", "valid_at": "2024-06-15"}],
        "entities": [ent("Alice", P), ent("Acme", ORG), ent("Globex", ORG)],
        "relations": [rel("Alice", "works_at", "Globex", valid_at="2024-06-15")],
    },
    "Bob is Alice's brother.": {
        "facts": [{"text": "Bob is Alice's brother."}],
        "entities": [ent("Bob", P, "Robert"), ent("Alice", P)],
        "relations": [rel("Alice", "brother", "Bob")],
    },
    "Bob lives in Paris.": {
        "facts": [{"text": "Bob lives in Paris."}],
        "entities": [ent("Bob", P), ent("Paris", L)],
        "relations": [rel("Bob", "lives_in", "Paris")],
    },
}


class ScriptedModel:
    """Answers extraction by the sentence it is asked about; decisions with ADD."""

    def __init__(self, answers):
        self.answers = answers

    def __call__(self, request):
        tool = request["tools"][0]["function"]["name"] if request.get("tools") else ""
        prompt = request["messages"][-1]["content"]
        if tool == "decide":
            return ok_tool_call({"decisions": []})
        for sentence, answer in self.answers.items():
            if sentence in prompt:
                return ok_tool_call(answer)
        return error(400, "no scripted answer for this input")


@pytest.fixture
def server():
    with OpenAIServer(ScriptedModel(ANSWERS)) as srv:
        yield srv


def open_memory(path, server, **chat_kwargs) -> Memory:
    chat = OpenAIChat("test-model", base_url=server.base_url, api_key="test-key",
                      cache=path / "llm-cache.sqlite", backoff=Backoff(0.01, 0.02),
                      **chat_kwargs)  # fmt: skip
    return Memory.open(path / "data", embedder="hash", extractor=LLMExtractor(chat))


def extraction_requests(server) -> int:
    return sum(1 for r in server.requests_to("chat")
               if r.body["tools"][0]["function"]["name"] == "extract")  # fmt: skip


def test_canonical_story_with_scripted_llm(tmp_path, server):
    with open_memory(tmp_path, server) as m:
        first = m.add("Alice works at Acme.", user_id="u", timestamp="2024-01-10")
        assert first.usage["llm_calls"] == 1
        second = m.add("Alice moved from Acme to Globex.", user_id="u", timestamp="2024-06-15")
        m.add("Bob is Alice's brother.", user_id="u")
        m.add("Bob lives in Paris.", user_id="u")
        assert extraction_requests(server) == 4  # one extraction call per add

        works = {r["target"]: r["invalid_at"] for r in m.graph_store.cypher(
            "MATCH (a:Entity {name: 'Alice'})-[r:RELATES]->(b:Entity) WHERE r.rel_type = 'works_at' "
            "RETURN b.name AS target, r.invalid_at AS invalid_at")}  # fmt: skip
        assert works["Globex"] == ""
        assert works["Acme"].startswith("2024-06-15")
        # The superseded fact is invalidated, not deleted, and its history says why.
        old = first.facts[0]
        assert second.invalidated == [old.id]
        assert m.get(old.id, user_id="u").invalid_at.startswith("2024-06-15")
        assert [e.event for e in m.history(old.id, user_id="u")] == ["ADD", "INVALIDATE"]
        current = {f.text for f in m.get_all(user_id="u")}
        assert "Alice works at Acme." not in current and "Bob lives in Paris." in current
        paths = m.graph.paths("Alice", "Paris", max_hops=2, user_id="u")
        assert [[(s.source, s.relation, s.target) for s in p] for p in paths] == [
            [("Alice", "brother", "Bob"), ("Bob", "lives_in", "Paris")]
        ]


def test_cache_means_no_second_request(tmp_path, server):
    with open_memory(tmp_path, server) as m:
        m.add("Alice works at Acme.", user_id="u")
        m.delete_all(user_id="u")
        again = m.add("Alice works at Acme.", user_id="u")
    assert extraction_requests(server) == 1
    assert again.usage["cache_hits"] == 1 and again.usage["llm_calls"] == 0
    assert len(again.facts) == 1


@pytest.mark.parametrize("status", [429, 500])
def test_retry_then_success(tmp_path, server, status):
    server.script(error(status))
    with open_memory(tmp_path, server) as m:
        result = m.add("Alice works at Acme.", user_id="u")
    assert len(result.facts) == 1
    assert extraction_requests(server) == 2


def test_no_retry_on_400_and_nothing_written(tmp_path, server):
    server.script(error(400, "bad request"))
    with open_memory(tmp_path, server) as m:
        with pytest.raises(LLMError):
            m.add("Alice works at Acme.", user_id="u")
        assert extraction_requests(server) == 1
        assert m.stats(user_id="u") == NOTHING
        assert m.history_store.events() == []


@pytest.mark.parametrize(
    "reply",
    [raw_content("this is not JSON at all"),
     ok_tool_call({"facts": [{"text": "x"}], "entities": [],
                   "relations": [rel("Nobody", "works_at", "Nowhere", fact=3)]}),
     ok_tool_call({"facts": [{"text": "x"}], "entities": [ent("A", P), ent("B", P)],
                   "relations": [rel("A", "}) DETACH DELETE n //", "B")]})],
)  # fmt: skip
def test_invalid_output_is_a_clear_error_and_nothing_written(tmp_path, server, reply):
    server.script(reply)
    with open_memory(tmp_path, server) as m:
        with pytest.raises(ExtractionError) as err:
            m.add("Alice works at Acme.", user_id="u")
        assert err.value.raw  # the model's answer is kept for debugging
        assert m.stats(user_id="u")["memories"] == 0
        assert m.history_store.events() == []


def test_update_decision_is_one_more_call_only_when_similar_facts_exist(tmp_path):
    answers = dict(ANSWERS)
    answers["Alice works at Acme now."] = {
        "facts": [{"text": "Alice works at Acme now."}],
        "entities": [ent("Alice", P), ent("Acme", ORG)],
        "relations": [rel("Alice", "works_at", "Acme")],
    }
    with OpenAIServer(ScriptedModel(answers)) as srv, open_memory(tmp_path, srv) as m:
        m.add("Alice works at Acme.", user_id="u")
        assert len(srv.requests_to("chat")) == 1  # nothing similar stored: no decision call
        srv.script(ok_tool_call(answers["Alice works at Acme now."]),
                   ok_tool_call({"decisions": [{"event": "NONE", "id": "0",
                                                "text": "Alice works at Acme now."}]}))  # fmt: skip
        result = m.add("Alice works at Acme now.", user_id="u")
        assert result.usage["llm_calls"] == 2
        assert result.facts == []  # the model judged it already known
        assert m.stats(user_id="u")["memories"] == 1


def test_an_update_is_read_by_the_model_once_and_infer_false_reads_it_offline(tmp_path, server):
    with open_memory(tmp_path, server) as m:
        fact = m.add("Bob is Alice's brother.", user_id="u").facts[0]
        m.update(fact.id, "Bob lives in Paris.", user_id="u")
        assert extraction_requests(server) == 2  # the add's call and the update's
        assert [(r.source_name, r.name, r.target_name, r.fact_ids)
                for r in m.graph.relations("Bob", user_id="u")] == [
            ("Bob", "lives_in", "Paris", [fact.id])]  # fmt: skip
        m.update(fact.id, "Bob works at Initech.", user_id="u", infer=False)  # no answer scripted
        assert extraction_requests(server) == 2
        assert [(r.name, r.target_name) for r in m.graph.relations("Bob", user_id="u")] == [
            ("works_at", "Initech")]  # fmt: skip
        with pytest.raises(LLMError):  # the model refuses to read it: nothing changes
            m.update(fact.id, "Nothing scripted for this.", user_id="u")
        assert m.get(fact.id, user_id="u").text == "Bob works at Initech."


def test_a_merge_an_update_made_can_be_undone(tmp_path):
    answers = dict(ANSWERS)
    answers["bob likes chess."] = {"facts": [{"text": "bob likes chess."}],
                                   "entities": [ent("bob", P), ent("chess", "concept")],
                                   "relations": [rel("bob", "likes", "chess")]}  # fmt: skip
    with OpenAIServer(ScriptedModel(answers)) as srv, open_memory(tmp_path, srv) as m:
        m.add("Bob lives in Paris.", user_id="u")
        fact = m.add("Bob is Alice's brother.", user_id="u").facts[0]
        m.update(fact.id, "bob likes chess.", user_id="u")
        merge = next(e for e in m.history_store.events(None) if e.event == "MERGE")
        assert merge.details["fact_ids"] == [fact.id]
        assert m.undo_merge(merge.id, user_id="u").name == "bob"
        assert [(r.source_name, r.name, r.target_name) for r in m.graph.relations(
            "chess", user_id="u")] == [("bob", "likes", "chess")]  # fmt: skip
        assert not any(m.verify().drift.values())


def test_a_merge_lists_the_facts_of_the_merged_names_relations_too(tmp_path):
    """A message's second fact may use a merged name only through a relation ("He likes
    chess."), with no mention of its own: the MERGE lists it, so an undo moves that
    relation to the split entity with the first, and leaves the stored entity's own."""
    answers = dict(ANSWERS)
    answers["Emil Cyril Lindqvist lives in Oslo."] = {
        "facts": [{"text": "Emil Cyril Lindqvist lives in Oslo."}],
        "entities": [ent("Emil Cyril Lindqvist", P), ent("Oslo", L)],
        "relations": [rel("Emil Cyril Lindqvist", "lives_in", "Oslo")],
    }
    swapped = "Cyril Emil Lindqvist"
    answers[f"{swapped} works at Nordbank. He likes chess."] = {
        "facts": [{"text": f"{swapped} works at Nordbank."}, {"text": "He likes chess."}],
        "entities": [ent(swapped, P), ent("Nordbank", ORG), ent("chess", "concept")],
        "relations": [rel(swapped, "works_at", "Nordbank", fact=0),
                      rel(swapped, "likes", "chess", fact=1)],
    }  # fmt: skip
    with OpenAIServer(ScriptedModel(answers)) as srv, open_memory(tmp_path, srv) as m:
        m.add("Emil Cyril Lindqvist lives in Oslo.", user_id="u")
        facts = m.add(f"{swapped} works at Nordbank. He likes chess.", user_id="u").facts
        merge = next(e for e in m.history_store.events(None) if e.event == "MERGE")
        assert merge.old_value == swapped
        assert sorted(merge.details["fact_ids"]) == sorted(f.id for f in facts)
        assert m.undo_merge(merge.id, user_id="u").name == swapped
        ends = {name: [(r.source_name, r.name) for r in m.graph.relations(name, user_id="u")]
                for name in ("Nordbank", "chess", "Oslo")}  # fmt: skip
        assert ends == {"Nordbank": [(swapped, "works_at")], "chess": [(swapped, "likes")],
                        "Oslo": [("Emil Cyril Lindqvist", "lives_in")]}  # fmt: skip
        assert not any(m.verify().drift.values())


def test_a_batch_tells_the_model_a_bounded_list_of_known_entities_named_ones_first(tmp_path):
    """The known list grew with the batch: the 80th item's prompt listed the entities of
    all 79 before it. Now it is the entities its text names first, then the stored ones,
    then the 50 found last in the batch."""
    items = [f"Person{i} met Person{i + 1} at the market." for i in range(80)]

    def model(request):
        prompt = request["messages"][-1]["content"]
        i = next(n for n in range(len(items) - 1, -1, -1) if items[n] in prompt)
        return ok_tool_call(
            {
                "facts": [{"text": items[i]}],
                "relations": [],
                "entities": [ent(f"Person{i}", P), ent(f"Person{i + 1}", P)],
            }
        )

    with OpenAIServer(model) as srv:
        with open_memory(tmp_path, srv) as m:
            m.add_triples([("Zelda Quinn", "likes", "tea")], user_id="u")  # stored: 2 entities
            m.add_many([{"text": t} for t in items], user_id="u", infer=True, batch_size=80)
        prompts = [r.body["messages"][-1]["content"] for r in srv.requests_to("chat")
                   if r.body["tools"][0]["function"]["name"] == "extract"]  # fmt: skip
    listed = [[line[2:].split(" [")[0] for line in p.split("Known entities:\n")[1]
               .split("\n\n")[0].splitlines() if line.startswith("- ")] for p in prompts]  # fmt: skip
    assert len(prompts) == 80
    last = listed[-1]
    # Person79 (found in the item before) is named by the text: first; the stored ones
    # follow; then the batch's most recent, never all 80.
    assert last[0] == "Person79" and set(last[1:3]) == {"Zelda Quinn", "tea"}
    assert len(last) <= 53 and "Person1" not in last
    assert max(len(names) for names in listed) <= 53
