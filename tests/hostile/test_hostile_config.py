"""Unknown or mistyped settings: a ConfigError naming the option (with a suggestion), never a
TypeError from dataclasses and never a silently accepted wrong type."""

from __future__ import annotations

import pytest

from graphmem import BackendUnavailableError, ConfigError, Memory
from graphmem.config import Config


@pytest.mark.parametrize(
    "option, suggestion",
    [("embeder", "embedder"), ("max_txt_chars", "max_text_chars"), ("user", None)],
)
def test_unknown_memory_open_option_names_it_with_a_suggestion(tmp_path, option, suggestion):
    with pytest.raises(ConfigError) as info:
        Memory.open(tmp_path / "data", embedder="hash", **{option: "x"})
    message = str(info.value)
    assert repr(option) in message
    if suggestion:
        assert f"did you mean {suggestion!r}" in message
    assert not (tmp_path / "data").exists()  # refused before anything was made


@pytest.mark.parametrize(
    "option, value",
    [
        ("single_valued", "lives_in"),
        ("single_valued", ["lives_in", 3]),
        ("max_text_chars", True),
        ("max_text_chars", 1.5),
        ("resolve_threshold", True),
        ("resolve_threshold", float("nan")),
        ("graph", 1),
        ("llm_timeout_s", 0),
        ("llm_max_retries", -1),
        ("min_free_disk_mb", "64"),
        ("llm_model", None),
        ("data_dir", 42),
        ("archive_after_days", 1e12),  # once an OverflowError at the first maintain()
        ("cypher_max_memory_mb", 0),
    ],
)
def test_wrong_types_of_values_are_config_errors_naming_the_option(tmp_path, option, value):
    settings = {"data_dir": tmp_path / "data", "embedder": "hash", option: value}
    with pytest.raises(ConfigError, match=option):
        Memory.open(**settings)


def test_a_list_of_single_valued_names_is_accepted_as_a_tuple(tmp_path):
    with Memory.open(tmp_path / "d", embedder="hash", single_valued=["lives_in"]) as m:
        assert m.config.single_valued == ("lives_in",)


def test_unknown_overrides_in_from_env_and_with_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="did you mean 'embedder'"):
        Config.from_env({"GRAPHMEM_DATA_DIR": str(tmp_path)}, embeder="hash")
    with pytest.raises(ConfigError, match="did you mean 'max_text_chars'"):
        Config(data_dir=tmp_path).with_(max_text_char=5)


def test_a_store_object_that_is_not_an_embedder_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="embedder"):
        Memory.open(tmp_path / "d", embedder=object())


def test_a_graph_page_cache_too_large_to_reserve_names_the_setting(tmp_path):
    """Kuzu reserves its page cache when it opens; one past what the machine can map was a
    MemoryError (std::bad_alloc) that the CLI reported as a bug."""
    past_any_address_space = 10**12  # MB: 1e18 bytes, more than even 57-bit addresses reach
    with pytest.raises(BackendUnavailableError, match="graph_buffer_pool_mb"):
        Memory.open(tmp_path / "data", embedder="hash", graph_buffer_pool_mb=past_any_address_space)
    with Memory.open(tmp_path / "data", embedder="hash") as memory:  # nothing held or lost
        memory.add("Alice works at Acme.", user_id="u")
        assert [f.text for f in memory.get_all(user_id="u")] == ["Alice works at Acme."]


@pytest.mark.parametrize("option", ["graph_buffer_pool_mb", "graph_checkpoint_mb"])
def test_a_graph_size_past_64_bit_bytes_is_a_config_error(tmp_path, option):
    """Kuzu takes these in bytes as a 64-bit integer: 10**20 MB overflowed in its driver,
    which the CLI reported as a bug (GRAPHMEM_GRAPH_BUFFER_POOL_MB=99999999999999999999)."""
    with pytest.raises(ConfigError, match=f"{option}=10{'0' * 19} \\(megabytes, at most"):
        Memory.open(tmp_path / "data", embedder="hash", **{option: 10**20})
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("option", ["qdrant_url", "llm_base_url"])
@pytest.mark.parametrize("url", ["http://host\x00:6333", "\ud800", "http://a b/v1"],
                         ids=["nul", "surrogate", "space"])  # fmt: skip
def test_a_url_no_request_can_carry_is_a_config_error(tmp_path, option, url):
    """Each failed inside httpx on the first request, as its InvalidURL or a
    UnicodeEncodeError, not as a graphmem error naming the setting."""
    with pytest.raises(ConfigError, match=f"{option}=.*a URL such as"):
        Memory.open(tmp_path / "data", embedder="hash", **{option: url})
    assert not (tmp_path / "data").exists()


def test_blanks_around_a_url_are_not_part_of_it(tmp_path):
    assert Config(data_dir=tmp_path, llm_base_url=" http://localhost:8000/v1\n").llm_base_url == (
        "http://localhost:8000/v1"
    )
