"""Chinese, Japanese and Korean text (``graphmem/text.py``): words are found inside runs
written without spaces, so keyword search, entity linking, fact splitting and the long-
message rules work there as they do in English. Before, a CJK sentence was one "word"."""

from __future__ import annotations

import pytest

from graphmem import Memory
from graphmem.index.keyword import tokenise
from graphmem.models import Scope
from graphmem.search.graph import query_keys
from graphmem.text import word_count

NOTES = [
    "我住在东京，每天坐地铁去公司。",
    "明天我要去北京出差，然后去上海见朋友。",
    "私は大阪に住んでいます。猫が好きです。",
    "저는 서울에 살아요. 김치를 좋아해요.",
    "I moved to Berlin last year and bought an IBM laptop.",
]


@pytest.fixture
def memory(tmp_path):
    m = Memory.open(str(tmp_path / "data"), embedder="hash")
    yield m
    m.close()


def _top(memory: Memory, query: str, recipe: str, user: str = "u") -> list[str]:
    return [hit.text for hit in memory.search(query, user_id=user, limit=3, recipe=recipe)]


@pytest.mark.parametrize(("query", "expected"), [
    ("东京", NOTES[0]),           # a name inside a Chinese sentence
    ("上海的朋友", NOTES[1]),      # a question sharing two words with the note
    ("大阪", NOTES[2]),           # Japanese
    ("서울", NOTES[3]),           # Korean: the note says 서울에, "in Seoul"
    ("ＩＢＭ", NOTES[4]),          # full-width Latin, as Japanese text often writes it
])  # fmt: skip
def test_keyword_search_finds_words_inside_cjk_text_before_and_after_reopen(
    tmp_path, query, expected
):
    data = str(tmp_path / "data")
    with Memory.open(data, embedder="hash") as m:
        for note in NOTES:
            m.add(note, user_id="u", infer=False)
        assert _top(m, query, "keyword")[:1] == [expected]
    with Memory.open(data, embedder="hash") as m:  # BM25 as saved in the snapshot
        assert _top(m, query, "keyword")[:1] == [expected]


def test_tokens_of_english_text_are_unchanged():
    assert tokenise("Painting the houses in Paris") == ["paint", "hous", "pari"]
    assert tokenise("naïve café, NAÏVE Café") == ["naïv", "café", "naïv", "café"]
    assert tokenise("iPhone手机很好") == ["iphon", "手机", "机很", "很好"]


def test_the_offline_extractor_splits_chinese_text_into_sentences(memory):
    memory.add("我住在东京。我在索尼公司工作。我的狗叫小白。", user_id="u")
    facts = sorted(f.text for f in memory.get_all(user_id="u"))
    assert facts == ["我住在东京。", "我在索尼公司工作。", "我的狗叫小白。"]


def test_a_long_chinese_transcript_is_kept_by_turns(memory):
    turns = [
        "王芳：" + "我最近在学习弹钢琴，每天练习两个小时，感觉进步很快。" * 4,
        "李明：" + "真的吗？我小时候也学过钢琴，后来因为工作太忙就放弃了。" * 4,
        "王芳：" + "下个月我要去东京参加一个音乐比赛，有点紧张。" * 4,
        "李明：" + "加油！我相信你一定可以的。比赛结束后我们一起去吃饭吧。" * 4,
    ]
    transcript = "\n".join(turns)
    assert len(transcript.split()) == 4 and word_count(transcript) > 200
    memory.add(transcript, user_id="u")
    hits = memory.search("东京的音乐比赛", user_id="u", limit=3)
    # Each turn is its own memory: the hit is the turn that says it, not all 400 characters.
    assert hits[0].text.startswith("下个月我要去东京参加一个音乐比赛")
    assert len(hits[0].text) < len(turns[2])


def test_a_chinese_question_links_to_the_entities_it_names(memory):
    memory.add_triples([("王芳", "works_at", "索尼"), ("索尼", "located_in", "东京")],
                       user_id="u", fact="王芳在索尼工作，索尼的总部在东京。")  # fmt: skip
    memory.add_triples([("李明", "lives_in", "北京")], user_id="u", fact="李明住在北京。")
    assert {"王芳", "工作"} <= set(query_keys("王芳在哪里工作？", Scope(user_id="u")))
    hits = memory.search("王芳在哪里工作？", user_id="u", limit=3, recipe="graph")
    assert [hit.text for hit in hits] == ["王芳在索尼工作，索尼的总部在东京。"]
    hits = memory.search("王芳在哪里工作？", user_id="u", limit=3)
    assert hits[0].text == "王芳在索尼工作，索尼的总部在东京。"
    assert "via 王芳 -[works_at]-> 索尼" in hits[0].explain()


def test_query_keys_keep_english_ngrams_apart_from_a_cjk_run():
    keys = set(query_keys("Alice在东京 Bob", Scope(user_id="u")))
    assert {"alice", "东京", "在东京", "bob"} <= keys
    assert "alice bob" not in keys  # the run between them ends the n-gram


def test_word_count_counts_cjk_characters_and_spaced_words():
    assert word_count("one two  three") == 3
    assert word_count("我住在东京。") == 5
    assert word_count("iPhone手机 is great!") == 5
    assert word_count("") == 0
