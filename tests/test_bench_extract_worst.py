"""``python -m benchmarks.extract_worst``: every hostile unit and the prose baseline timed at
every length, written as JSON, a table and a plot."""

from __future__ import annotations

import json

from benchmarks import extract_worst


def test_each_unit_and_the_baseline_are_timed_at_each_length(tmp_path):
    out = tmp_path / "out"
    assert extract_worst.main(["--lengths", "300,150", "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())["results"]
    rows = results["ms"]
    assert len(rows) == 2 * len(extract_worst.UNITS) + 1
    assert all(set(by_length) == {"150", "300"} for by_length in rows.values())
    assert results["worst"] in rows and "'she said he '" in rows
    table = (out / "results.md").read_text()
    assert "prose (baseline)" in table and "300 / 150" in table
    assert (out / "extract_ms_by_length.png").exists()


def test_texts_are_cut_to_the_length_asked_with_the_sentence_at_the_end():
    text = extract_worst.repeated("she said he ", 1000, extract_worst.TAIL)
    assert len(text) == 1000 and text.endswith(extract_worst.TAIL)
    assert len(extract_worst.repeated(extract_worst.PROSE, 20_000)) == 20_000
