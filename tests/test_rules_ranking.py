"""``Memory.rules()`` for a system prompt, and the recency/importance score parts of recipes,
with an injected clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from graphmem import Memory, ValidationError
from graphmem.search import recipes

START = datetime(2026, 1, 1, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def mem(tmp_path, clock):
    with Memory.open(tmp_path, embedder="hash", clock=clock) as m:
        yield m


def test_rules_are_the_scopes_current_rules_most_important_first(mem, clock):
    mem.add("Never call me before 9am.", user_id="u", memory_type="rule", importance=0.9)
    mem.add("Keep answers short.", user_id="u", memory_type="rule", importance=0.6)
    mem.add("Use metric units.", user_id="u", agent_id="cook", memory_type="rule")
    mem.add("Alice lives in Paris.", user_id="u")  # a fact, not a rule
    mem.add("Always answer in French.", user_id="other", memory_type="rule")  # another user
    mem.add("Reply in haiku.", user_id="u", memory_type="rule", ttl="1d")
    clock.now += timedelta(days=2)  # the haiku rule has expired
    assert [f.text for f in mem.rules(user_id="u")] == [
        "Never call me before 9am.", "Keep answers short.", "Use metric units."]  # fmt: skip
    assert [f.text for f in mem.rules(user_id="u", agent_id="cook")] == ["Use metric units."]
    assert [f.text for f in mem.rules(user_id="u", limit=1)] == ["Never call me before 9am."]
    assert mem.rules(user_id="nobody") == []


def test_an_instruction_said_in_conversation_becomes_a_rule_offline(mem):
    mem.add("I moved to Lyon last year. From now on, always answer in French.", user_id="u")
    assert [f.text for f in mem.rules(user_id="u")] == ["From now on, always answer in French."]
    # Encouragement and the assistant's advice are not the user's rules.
    mem.add("Never give up!", user_id="u")
    mem.add([{"role": "assistant", "content": "Always back up your files."}], user_id="u")
    mem.add("Don't worry about it.", user_id="u", infer=False)
    assert len(mem.rules(user_id="u")) == 1


def test_a_caller_can_say_a_rule_is_only_a_fact(mem):
    mem.add("Always answer in French.", user_id="u", memory_type="semantic")
    assert mem.rules(user_id="u") == []


def test_rules_check_their_arguments(mem):
    with pytest.raises(ValidationError) as err:
        mem.rules(user_id="u", limit=0)
    assert err.value.field == "limit"


def test_importance_part_reorders_equal_matches_and_shows_in_explain(mem):
    low = mem.add("Alice likes green tea.", user_id="u", importance=0.1).facts[0]
    high = mem.add("Alice likes black tea.", user_id="u", importance=0.9).facts[0]
    weighted = replace(recipes.TEXT, name="important", importance_weight=0.5)
    hits = mem.search("Alice likes tea", user_id="u", recipe=weighted)
    assert [h.memory_id for h in hits] == [high.id, low.id]
    assert hits[0].score_parts["importance"] == 0.45 and "importance=0.450" in hits[0].explain()
    assert hits[1].score_parts["importance"] == 0.05
    plain = mem.search("Alice likes tea", user_id="u", recipe="text")
    assert all("importance" not in h.score_parts for h in plain)


def test_recency_part_follows_the_injected_clock(mem, clock):
    old = mem.add("Bob plays chess on Sundays.", user_id="u").facts[0]
    clock.now += timedelta(days=60)
    new = mem.add("Bob plays tennis on Sundays.", user_id="u").facts[0]
    fresh = replace(recipes.TEXT, name="fresh", recency_weight=1.0, recency_half_life=30.0)
    hits = {h.memory_id: h for h in mem.search("what does Bob play on Sundays", user_id="u",
                                               recipe=fresh)}  # fmt: skip
    assert hits[new.id].score_parts["recency"] == 1.0  # added "now"
    assert hits[old.id].score_parts["recency"] == 0.25  # two half-lives ago
    clock.now += timedelta(days=30)
    later = {h.memory_id: h for h in mem.search("what does Bob play on Sundays", user_id="u",
                                                recipe=fresh)}  # fmt: skip
    assert later[new.id].score_parts["recency"] == 0.5


def test_the_named_recipes_leave_both_parts_off():
    for recipe in recipes.RECIPES.values():
        assert recipe.recency_weight == recipe.importance_weight == 0.0, recipe.name


@pytest.mark.parametrize(
    "fields", [{"recency_weight": 1.5}, {"importance_weight": -0.1}, {"recency_half_life": 0}]
)
def test_out_of_range_weights_are_refused(fields):
    with pytest.raises(ValidationError) as err:
        replace(recipes.TEXT, name="bad", **fields)
    assert next(iter(fields)) in str(err.value)
