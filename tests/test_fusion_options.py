"""Issue 22's fusion options: a query whose words match nothing barely moves BM25's weight."""

from __future__ import annotations

from dataclasses import replace

import pytest

from graphmem import Memory
from graphmem.errors import ValidationError
from graphmem.search import recipes
from graphmem.search.fuse import coverage_weight, min_max


def test_coverage_weight_keeps_a_full_match_and_drops_a_stray_word():
    assert coverage_weight(0.5, 9.0, 10.0, 0.25) == 0.5
    assert coverage_weight(0.5, 1.0, 10.0, 0.25) == pytest.approx(0.2)
    assert coverage_weight(0.5, 0.0, 0.0, 0.25) == 0.0


def test_scores_below_the_floor_count_as_unrelated():
    assert min_max([0.9, 0.5, 0.1], floor=0.3) == pytest.approx([1.0, 1 / 3, 0.0])


def test_keyword_coverage_lets_meaning_win_when_words_barely_match(tmp_path):
    with Memory.open(tmp_path, embedder="hash") as m:
        m.add_many([{"text": "the weather report for Oslo said rain all week"},
                    {"text": "report"}], user_id="u")  # fmt: skip
        strict = replace(recipes.TEXT, name="strict", keyword_coverage=1.0)
        query = "weather forecast Oslo rain week report"
        plain = m.search(query, user_id="u", recipe="text")
        adapted = m.search(query, user_id="u", recipe=strict)
        assert adapted[0].text.startswith("the weather report")
        assert adapted[0].score_parts["keyword"] <= plain[0].score_parts["keyword"]


def test_bad_fusion_options_are_refused():
    with pytest.raises(ValidationError, match="vector_floor"):
        replace(recipes.TEXT, vector_floor="mean")
    with pytest.raises(ValidationError, match="keyword_coverage"):
        replace(recipes.TEXT, keyword_coverage=2.0)
