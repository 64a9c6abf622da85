"""Importance and rule detection at ingest: the offline heuristics and the model's answer."""

from __future__ import annotations

import pytest

from graphmem.ingest.offline import OfflineExtractor
from graphmem.ingest.offline_importance import importance, is_rule, rate
from graphmem.llm.extract import EXTRACTION_SCHEMA, parse_extraction


@pytest.mark.parametrize(
    ("sentence", "cue"),
    [
        ("Remember that my PIN is 4412.", "remember"),
        ("Please keep in mind that I'm allergic to peanuts.", "remember"),
        ("Can you remember that the gate code is 1234?", "remember"),
        ("I prefer tea over coffee.", "preference"),
        ("I really hate cold showers.", "preference"),
        ("My favourite band is Muse.", "preference"),
        ("The dentist appointment is next Friday.", "date"),
        ("Always answer in French.", "rule"),
    ],
)
def test_what_a_user_wants_kept_ranks_above_a_plain_statement(sentence, cue):
    value, cues = rate(sentence)
    assert cue in cues
    assert value > importance("The weather was mild.") == 0.5


@pytest.mark.parametrize("sentence", ["Thanks so much!", "Hi!", "Wow, Maria!", "lol ok"])
def test_small_talk_ranks_lowest(sentence):
    assert rate(sentence) == (0.2, ("small_talk",))


def test_reminiscing_and_questions_are_not_requests_to_remember():
    assert "remember" not in rate("I remember that trip to Rome so well.")[1]
    assert "remember" not in rate("Remember that photo you sent me once?")[1]
    assert rate("Where did you go last summer?")[0] < 0.5 + 0.1  # a date, but asked


def test_cues_add_up_and_stay_in_range():
    both = importance("Remember that I love sushi, since 2019.", people=2, related=True)
    assert both == 1.0
    assert importance("ok", dated=False) >= 0.05


@pytest.mark.parametrize(
    "sentence",
    [
        "Always answer in French.",
        "Never call me before 9am.",
        "Please don't send emails after 6pm.",
        "Stop using emojis.",
        "From now on, call me Sam.",
        "From now on, always answer in French.",
        "Going forward you should cc my assistant.",
        "I want you to always use metric units.",
    ],
)
def test_standing_instructions_are_rules(sentence):
    assert is_rule(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "Never give up!",
        "Don't worry about it.",
        "Never mind.",
        "From now on I'll run every day.",
        "I always drink coffee at 8.",
        "Should I always answer in French?",
        "Alice never eats meat.",
    ],
)
def test_encouragement_habits_and_questions_are_not_rules(sentence):
    assert not is_rule(sentence)


def test_offline_extractor_rates_each_fact_and_marks_rules():
    found = OfflineExtractor().extract(
        "Hi Bob! Remember that my sister Alice moved to Paris in 2021. Always answer in "
        "French. The soup was warm.",
        speaker="Carl",
    )
    by_text = {f.text: f for f in found.facts}
    assert by_text["Hi Bob!"].importance == 0.2  # a greeting, even naming someone
    moved = by_text["Remember that my sister Alice moved to Paris in 2021."]
    assert moved.importance == 1.0 and moved.memory_type == ""  # remember, date, person
    assert by_text["Always answer in French."].memory_type == "rule"
    assert by_text["The soup was warm."].importance == 0.5


def test_a_named_person_raises_importance_but_the_speaker_does_not():
    extractor = OfflineExtractor()
    about_bob = extractor.extract("Bob sold the old blue car.", speaker="Carl").facts[0]
    about_me = extractor.extract("I sold the old blue car.", speaker="Carl").facts[0]
    assert about_bob.importance > about_me.importance == 0.5


def test_the_schema_asks_the_model_for_importance_and_rules():
    item = EXTRACTION_SCHEMA["properties"]["facts"]["items"]["properties"]
    assert item["importance"]["type"] == "number" and item["rule"]["type"] == "boolean"


@pytest.mark.parametrize(
    ("given", "stored"),
    [(0.8, 0.8), (1, 1.0), (7, 1.0), (-2, 0.0), ("0.3", 0.3), ("40%", 0.4), ("high", None),
     (None, None), (True, None), (float("nan"), None), ([0.5], None)],
)  # fmt: skip
def test_a_models_importance_is_clamped_and_garbage_is_no_opinion(given, stored):
    answer = {"facts": [{"text": "Alice likes tea.", "importance": given, "rule": "yes"}],
              "entities": [], "relations": []}  # fmt: skip
    fact = parse_extraction(answer).facts[0]
    assert fact.text == "Alice likes tea."  # the fact survives whatever the number was
    assert fact.importance == stored
    assert fact.memory_type == ""  # only a JSON true marks a rule


def test_a_model_can_mark_a_rule():
    answer = {"facts": [{"text": "Always reply in French.", "rule": True, "importance": 0.9}],
              "entities": [], "relations": []}  # fmt: skip
    fact = parse_extraction(answer).facts[0]
    assert (fact.memory_type, fact.importance) == ("rule", 0.9)


def test_an_opener_repeated_a_thousand_times_is_stored_not_a_crash(tmp_path):
    """Each "from now on," was read by a call of its own: 1,000 of them (13,000
    characters, under the text limit) raised RecursionError out of ``add`` (REST 500)."""
    from graphmem import Memory

    assert is_rule("From now on, " * 1000 + "answer in French.")
    assert not is_rule("From now on, " * 1000 + "I live in Paris.")
    with Memory.open(tmp_path / "d", embedder="hash", track_access=False) as m:
        for infer in (True, False):
            added = m.add("From now on, " * 1000 + f"answer in French {infer}.", user_id="u",
                          infer=infer)  # fmt: skip
            assert added.facts, added
            if infer:  # read as the standing instruction it is
                assert all(f.memory_type == "rule" for f in added.facts), added
