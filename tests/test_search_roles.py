"""A question asking what the assistant said is answered first by the assistant's words."""

from __future__ import annotations

from dataclasses import replace

import pytest

from graphmem import Memory
from graphmem.errors import ValidationError
from graphmem.search import recipes
from graphmem.search.roles import asks_assistant

CHAT = [
    {"role": "user", "content": "Ganko in Kyoto serves a quiet dinner by the river."},
    {"role": "assistant", "content": "Shigetsu in Kyoto serves a quiet dinner by the temple."},
    {"role": "user", "content": "Thanks, we will book one of them."},
]
ASKED = "Which quiet dinner place in Kyoto did you suggest?"
REQUEST = "Can you remind me of the quiet dinner place in Kyoto?"


@pytest.mark.parametrize("question", [
    ASKED, "Can you remind me of the restaurant you recommended?", "What was your advice?",
    "What did the assistant say about the rail pass?", "You once told me about a ryokan.",
    "Which hotel have you suggested?", "Remind me of the recipe you gave me.",
    # An agent asking in its own voice: "I" is the assistant where the user is named.
    "Which quiet dinner place in Kyoto did I suggest to the user?",
    "What did I recommend to the user?", "What was my advice to the user?",
    "I told the user about a ryokan; which one was it?",
])  # fmt: skip
def test_a_question_about_the_assistants_words_is_read_so(question):
    assert asks_assistant(question)


@pytest.mark.parametrize("question", [
    REQUEST, "Can you remind me what my wife is allergic to?", "Do you remember where I parked?",
    "Did you know I moved to Oslo?", "Where did I tell you I parked?", "Do you need my address?",
    "What did I ask you to buy?", "Thank you, where did I go last week?",
    "What is the user's job?", "What did the user ask me to buy?",
    "Did I remember the user's birthday?",
])  # fmt: skip
def test_a_request_put_to_the_assistant_is_not(question):
    assert not asks_assistant(question)


@pytest.fixture(scope="module")
def chat(tmp_path_factory):
    with Memory.open(tmp_path_factory.mktemp("roles"), embedder="hash") as m:
        m.add(CHAT, user_id="u")
        yield m


@pytest.mark.parametrize("recipe", ["text", "hybrid"])
def test_the_assistants_suggestion_comes_first_when_asked_for(chat, recipe):
    plain = chat.search(ASKED, user_id="u", recipe=replace(
        recipes.RECIPES[recipe], name="plain", assistant_weight=0.0))  # fmt: skip
    hits = chat.search(ASKED, user_id="u", recipe=recipe)
    # Word for word the user's turn matches a little better; the question asks for the other.
    assert plain[0].role == "user" and "Ganko" in plain[0].text
    assert hits[0].role == "assistant" and "Shigetsu" in hits[0].text
    assert hits[0].said_by() == "the assistant"
    assert hits[0].score_parts["assistant"] == 0.25 and "assistant=0.250" in hits[0].explain()
    assert all("assistant" not in h.score_parts for h in hits if h.role != "assistant")


def test_an_agent_asking_in_its_own_voice_gets_its_own_suggestion_first(chat):
    """An agent's "I" was read as the user whatever the question said, so one asking what it
    had suggested got the user's words first."""
    asked = "Which quiet dinner place in Kyoto did I suggest to the user?"
    hits = chat.search(asked, user_id="u")
    assert hits[0].role == "assistant" and "Shigetsu" in hits[0].text
    assert hits[0].score_parts["assistant"] == 0.25


def test_the_user_named_in_the_third_person_is_the_scopes_user(tmp_path):
    """An agent's "the user's sister" led nowhere in the graph, where "my sister" leads
    through the user's own relation."""
    said = ["My sister Dana moved to Oslo last spring.", "I walk to work most days."]
    with Memory.open(tmp_path, embedder="hash") as m:
        m.add([{"role": "user", "content": text} for text in said], user_id="alice")
        for asked in ("Where does my sister live?", "Where does the user's sister live?"):
            top = m.search(asked, user_id="alice")[0]
            assert "Dana" in top.text and top.score_parts.get("graph", 0) > 0, asked
            assert "alice -[sister]-> Dana" in top.explain(), asked
        # "the sister" names no one's: no path from the user.
        top = m.search("Where does the sister live?", user_id="alice")[0]
        assert "graph" not in top.score_parts


def test_a_request_to_recall_leaves_the_ranking_alone(chat):
    hits = chat.search(REQUEST, user_id="u")
    plain = chat.search(REQUEST, user_id="u", recipe=replace(
        recipes.HYBRID, name="plain", assistant_weight=0.0))  # fmt: skip
    assert [(h.memory_id, h.score) for h in hits] == [(h.memory_id, h.score) for h in plain]
    assert all("assistant" not in h.score_parts for h in hits)


def test_an_assistant_weight_out_of_range_is_refused():
    with pytest.raises(ValidationError, match="assistant_weight"):
        replace(recipes.HYBRID, name="bad", assistant_weight=2.0)
