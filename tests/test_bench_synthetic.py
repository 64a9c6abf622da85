"""The synthetic generator's ground truth and the synthetic suite's judging."""

from __future__ import annotations

import pytest

from benchmarks.generator import KINDS, generate
from benchmarks.runtime import CachingEmbedder
from benchmarks.suites.synthetic import judge, summarise
from graphmem.models import Hit


@pytest.fixture(scope="module")
def data():
    return generate(2_000, n_scopes=4, questions_per_kind=25, seed=3)


def _texts(data):
    return {fact.source_id: fact.text for fact in data.facts}


def test_sizes_and_determinism(data):
    assert len(data.facts) == 2_000
    assert len({f.source_id for f in data.facts}) == 2_000
    assert {q.kind for q in data.questions} == set(KINDS)
    again = generate(2_000, n_scopes=4, questions_per_kind=25, seed=3)
    assert again.facts == data.facts and again.questions == data.questions
    assert generate(2_000, n_scopes=4, questions_per_kind=25, seed=4).facts != data.facts


def test_gold_facts_form_the_chain_the_question_asks_about(data):
    texts = _texts(data)
    for question in data.questions:
        assert all(g.startswith(question.scope + "/") for g in question.gold)
        gold = [texts[g] for g in question.gold]
        if question.kind == "hop2":
            person, relation = question.text.removeprefix("Where does ").split("'s ")
            link, lives = gold
            assert link.startswith(f"{person}'s {relation.removesuffix(' live?')} is ")
            other = link.split(" is ", 1)[1].rstrip(".")
            assert lives.startswith(f"{other} lives in ")
        if question.kind == "hop3":
            _, works, based = gold
            employer = works.split(" works at ", 1)[1].rstrip(".")
            assert based.startswith(f"{employer} is based in ")


def test_updates_are_later_and_name_the_old_value(data):
    facts = {fact.source_id: fact for fact in data.facts}
    updates = [q for q in data.questions if q.kind == "update"]
    assert updates
    for question in updates:
        new, old = facts[question.gold[0]], facts[question.superseded]
        assert new.timestamp > old.timestamp
        old_value = old.text.split(" lives in ")[-1].split(" works at ")[-1].rstrip(".")
        assert old_value in new.text


def test_unanswerable_questions_name_nobody_with_that_fact_in_scope(data):
    texts = _texts(data)
    for question in (q for q in data.questions if q.kind == "unanswerable"):
        assert question.gold == ()
        subject = question.text.removeprefix("Where does ").removesuffix(" live?")
        in_scope = [t for s, t in texts.items() if s.startswith(question.scope + "/")]
        assert not any(t.startswith(f"{subject} ") for t in in_scope)


def _hit(memory_id, source, score=1.0, cosine=None):
    parts = {} if cosine is None else {"cosine": cosine}
    return Hit(memory_id=memory_id, text="", score=score, source_ids=[source], score_parts=parts)


def test_judge_orders_current_against_superseded_and_counts_leaks(data):
    question = next(q for q in data.questions if q.kind == "update")
    scope, new, old = question.scope, question.gold[0], question.superseded
    owner = {"m-new": scope, "m-old": scope, "m-far": "elsewhere"}
    good = judge(question, [_hit("m-new", new), _hit("m-old", old)], owner)
    bad = judge(question, [_hit("m-old", old), _hit("m-new", new)], owner)
    lost = judge(question, [_hit("m-old", old)], owner)
    absent = judge(question, [], owner)
    assert not good["superseded_above_current"] and good["current_rank"] == 1
    assert bad["superseded_above_current"] and lost["superseded_above_current"]
    assert not absent["superseded_above_current"]
    leaky = judge(question, [_hit("m-far", new), _hit("m-x", "other-scope/f1")], owner)
    assert leaky["leaks"] == 2
    summary = summarise({"hybrid": [good, bad, lost, absent, leaky]})["hybrid"]
    assert summary["superseded_above_current"] == 2
    assert summary["leaks"] == 2


def test_caching_embedder_embeds_each_text_once():
    class Counting:
        name, dim, calls = "counting", 2, []

        def embed(self, texts):
            self.calls.append(list(texts))
            return [[float(len(t)), 1.0] for t in texts]

    inner = Counting()
    cached = CachingEmbedder(inner)
    cached.warm(["a", "bb", "a"])
    assert cached.embed(["bb", "ccc", "a"]) == [[2.0, 1.0], [3.0, 1.0], [1.0, 1.0]]
    assert inner.calls == [["a", "bb"], ["ccc"]]
    assert (cached.name, cached.dim) == ("counting", 2)
